/*
 * A finwait process for one test: its config in a temp file, its stderr in a temp file (a
 * pipe could fill up and block finwait while the test is busy elsewhere), helpers to read
 * its log, its bound ports, its resources, and to stop it.
 */
#ifndef FW_TEST_PROC_H
#define FW_TEST_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct fwp {
    pid_t pid;
    char dir[64]; /* temp dir with finwait.yaml and stderr.log */
    char cfg[128];
    char logpath[128];
    int status; /* exit status once reaped, else -1 */
};

/* Start finwait on the YAML (printf format) and wait (10 s) until it logged a listening line
 * or exited. Aborts the test if it cannot start at all. */
struct fwp *fwp_start(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start `bin` (NULL: finwait; a symlink's name chooses how finwait runs) with `args`
 * (NULL-terminated, without argv[0]; fw->cfg is unset) and wait (10 s) until its log holds
 * `ready`. */
struct fwp *fwp_start_argv(const char *bin, const char *const *args, const char *ready);
/* The port of the admin API (waits up to 5 s for its listening line; 0 if none). */
uint16_t fwp_admin_port(struct fwp *fw);
/* The port proxy `name` is bound to (waits up to 5 s for its listening line; 0 if none). */
uint16_t fwp_port(struct fwp *fw, const char *name);
/* Everything finwait logged so far (NUL-terminated, owned by the caller). */
char *fwp_log(struct fwp *fw);
/* The whole file at path (NUL-terminated, owned by the caller); the test fails if it cannot
 * be read. */
char *fwp_slurp(const char *path);
/* Wait until the log contains `needle`. */
bool fwp_wait_log(struct fwp *fw, const char *needle, int timeout_ms);
/* Replace the config with the YAML (printf format), send SIGHUP and wait (5 s) for finwait's
 * verdict. True if it reloaded, false if it kept the running configuration. */
bool fwp_reload(struct fwp *fw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Send `sig` and wait for the exit: returns the exit code, or -1 if it did not exit in time
 * (then it is killed). Frees fw. */
int fwp_stop(struct fwp *fw, int sig, int timeout_ms);
/* Wait for an exit without signalling: exit code, or -1 on timeout (process left running). */
int fwp_wait_exit(struct fwp *fw, int timeout_ms);
long fwp_rss_kib(struct fwp *fw);
int fwp_fd_count(struct fwp *fw);

/* Run finwait with `args` (NULL-terminated, without argv[0]); stdout+stderr into *out
 * (caller frees). Returns the exit code, -1 on timeout. */
int fwp_run(const char *const *args, char **out, int timeout_ms);
/* The same with `bin` (NULL: finwait) as the program and its argv[0]. */
int fwp_run_bin(const char *bin, const char *const *args, char **out, int timeout_ms);
/* Write `text` to a new temp file and return its path (static buffer per call slot 0..3). */
const char *fwp_tmpfile(int slot, const char *name, const char *text);

#endif
