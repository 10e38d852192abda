/*
 * The admin API's listening socket, accepted by finwait rather than by libmicrohttpd.
 *
 * libmicrohttpd, out of descriptors, either stops accepting until one of its own connections
 * closes (and in finwait's external loop nothing ran it again: the API went deaf for good) or,
 * with no connection open, leaves its listening socket readable and the loop spinning. Here an
 * accept that fails for want of descriptors stops watching the socket and retries on a timer
 * (clients wait in the backlog), says so once per interval and counts it; a limit of
 * connections (admin.max_connections) pauses accepting until one closes.
 */
#ifndef FINWAIT_PROXY_ADMIN_ACCEPT_H
#define FINWAIT_PROXY_ADMIN_ACCEPT_H

#include <stdbool.h>
#include <sys/socket.h>
#include <uv.h>

/* A connection accepted: the callee owns fd. */
typedef void (*admin_accept_cb)(void *ctx, int fd, const struct sockaddr *sa, socklen_t len);

struct admin_accept {
    int fd;             /* the listening socket */
    uv_poll_t poll;     /* its readability, while accepting */
    uv_timer_t retry;   /* while starved: the next try */
    bool paused;        /* the owner's limit of connections: not accepting */
    bool starved;       /* the last accept failed for want of descriptors */
    uint64_t logged_ms; /* uv_now() of the last "too many open files" line */
    uint64_t unsaid;    /* failed accepts since that line */
    int handles;        /* poll and retry not closed yet */
    admin_accept_cb cb;
    void *ctx;
    void (*closed)(struct admin_accept *); /* both handles closed */
};

/* Bind `sa` (an IPv6 address also takes IPv4 clients) and listen. Returns 0, or a negative UV_E*
 * code with nothing left open. */
int admin_accept_open(struct admin_accept *aa, uv_loop_t *loop, const struct sockaddr *sa,
                      admin_accept_cb cb, void *ctx);
/* The bound port. */
uint16_t admin_accept_port(const struct admin_accept *aa);
/* Stop accepting (the owner's connections are at their limit), and start again. */
void admin_accept_pause(struct admin_accept *aa);
void admin_accept_resume(struct admin_accept *aa);
/* Close the socket; `closed` is called once the handles are closed. */
void admin_accept_close(struct admin_accept *aa, void (*closed)(struct admin_accept *));

#endif
