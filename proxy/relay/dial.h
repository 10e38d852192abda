/*
 * Connecting to the first of several addresses that answers: Happy Eyeballs (RFC 8305).
 * The addresses are tried in turn, families interleaved, the next one started when the one
 * before failed or after DIAL_ATTEMPT_DELAY_MS without an answer; the first to connect wins
 * and the others are closed. How long the whole may take is the caller's business: it
 * cancels the dial when its own timeout fires.
 */
#ifndef FINWAIT_PROXY_DIAL_H
#define FINWAIT_PROXY_DIAL_H

#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

/* RFC 8305's "Connection Attempt Delay" (its recommended value). */
#define DIAL_ATTEMPT_DELAY_MS 250

struct dial;

struct dial_ops {
    /* Attempt i has its socket and is about to connect to sa: set socket options here. */
    void (*on_socket)(void *arg, unsigned i, int fd, const struct sockaddr *sa);
    /* Attempt i to sa failed with err (a negative UV_E* code). */
    void (*on_attempt_failed)(void *arg, unsigned i, const struct sockaddr *sa, int err);
    /*
     * The end, called once: status 0 and fd, a non-blocking socket connected to sa by attempt
     * i, now the caller's; or the error of the last attempt to fail, fd -1 and sa NULL. The
     * dial is gone after this call.
     */
    void (*on_done)(void *arg, int status, unsigned i, int fd, const struct sockaddr *sa);
};

/*
 * Start connecting to addrs[0..n) (n > 0; copied). Callbacks run from the loop, never from
 * within this function. 0 and *out, or a negative UV_E* code (no callback then).
 */
int dial_start(uv_loop_t *loop, const struct sockaddr_storage *addrs, size_t n,
               const struct dial_ops *ops, void *arg, struct dial **out);
/* Close every attempt; no callback runs any more. Not after on_done. */
void dial_cancel(struct dial *d);

#endif
