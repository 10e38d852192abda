/*
 * Starving a finwait process of descriptors for the tests: its RLIMIT_NOFILE changed from the
 * outside with prlimit(2), its CPU time read from /proc/PID/stat, and a bare admin request on
 * a socket connected beforehand (a client that waits in the backlog).
 */
#ifndef FW_TEST_STARVE_H
#define FW_TEST_STARVE_H

#include <stdint.h>
#include <sys/types.h>

/* Set pid's soft descriptor limit (the hard one unchanged); the test fails if it cannot. */
void starve_nofile(pid_t pid, uint64_t soft);
/* Leave pid exactly `free` descriptors to open: its soft limit set to the (free+1)-th lowest
 * number it has not open (a limit bounds descriptor numbers, not their count, and an open one
 * above it stays usable). Returns the limit set. */
uint64_t starve_leave(pid_t pid, unsigned free);
/* pid's soft and hard descriptor limits. */
void starve_get_nofile(pid_t pid, uint64_t *soft, uint64_t *hard);
/* pid's CPU time so far (user + system), in milliseconds. */
int64_t starve_cpu_ms(pid_t pid);
/* Send `GET /version` on fd (connected to the admin API) and read the answer until the server
 * closes or timeout_ms pass. Returns the HTTP status, 0 if no answer came. */
int starve_get_version(int fd, int timeout_ms);

#endif
