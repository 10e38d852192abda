/*
 * Connections accepted and closed unserved because no descriptor was free (EMFILE, ENFILE).
 *
 * A client left in the backlog while no descriptor is free would hang until its connect times
 * out, and the listening socket would stay readable: the loop would spin on it. So finwait
 * keeps descriptors in reserve; when accept(2) fails for want of one, it frees a reserve,
 * accepts every pending client and closes it at once (the client reads EOF), counts each, and
 * takes the reserve back. Only when no reserve is left does the listener wait, on a timer.
 */
#ifndef FINWAIT_PROXY_EMFILE_H
#define FINWAIT_PROXY_EMFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Open the reserve descriptors that are not open. Returns true when all of them are. */
bool emfile_reserve(void);
/* accept(2) on `listen_fd` failed with EMFILE or ENFILE: accept and close what is pending,
 * using a reserve. Returns how many connections were closed unserved; sets *stuck when no
 * reserve could be given up (then nothing was accepted: the caller waits for a descriptor). */
uint64_t emfile_shed(int listen_fd, bool *stuck);
/* Say that `n` connections of proxy `proxy` were closed unserved (err: UV_EMFILE or
 * UV_ENFILE): one warning a second at most, with the count since the previous one. */
void emfile_log(uv_loop_t *loop, const char *proxy, int err, uint64_t n);

#endif
