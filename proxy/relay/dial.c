/*
 * Happy Eyeballs over raw non-blocking sockets, each watched by a uv_poll_t until it
 * connects or fails: a socket that wins is handed over as a descriptor (the caller opens it
 * with uv_tcp_open), which a uv_tcp_t could not be, since libuv handles cannot move.
 */
#include "proxy/relay/dial.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct attempt {
    uv_poll_t poll;
    struct dial *d;
    struct sockaddr_storage addr;
    int fd;       /* the attempt's socket; -1 before it starts and once it is handed over */
    bool polling; /* poll was initialised and not closed yet */
};

struct dial {
    const struct dial_ops *ops;
    void *arg;
    uv_loop_t *loop;
    uv_timer_t timer; /* starts the next attempt */
    size_t n;         /* addresses */
    size_t next;      /* the next one to try */
    unsigned running; /* attempts waiting for an answer */
    int last_err;     /* of the last attempt that failed */
    int pending;      /* handles still to close before d can be freed */
    bool over;        /* done or cancelled: the caller hears nothing more */
    struct attempt att[];
};

static void release(struct dial *d)
{
    if (--d->pending == 0)
        free(d);
}

static void on_timer_closed(uv_handle_t *h)
{
    release(h->data);
}

static void on_poll_closed(uv_handle_t *h)
{
    struct attempt *a = h->data;

    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    release(a->d);
}

static void attempt_close(struct attempt *a)
{
    if (!a->polling) {
        if (a->fd >= 0)
            close(a->fd);
        a->fd = -1;
        return;
    }
    a->polling = false;
    /* the watcher stops now; the socket is closed in the callback, after libuv let go of it */
    uv_close((uv_handle_t *)&a->poll, on_poll_closed);
}

/* Close every handle; d is freed when they have called back. */
static void stop(struct dial *d)
{
    d->over = true;
    for (size_t i = 0; i < d->n; i++)
        attempt_close(&d->att[i]);
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Start connecting attempt a: 0 while the answer is awaited, else a negative UV_E* code. */
static int attempt_start(struct dial *d, struct attempt *a)
{
    const struct sockaddr *sa = (const struct sockaddr *)&a->addr;
    int r;

    a->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd < 0)
        return -errno;
    if (d->ops->on_socket)
        d->ops->on_socket(d->arg, (unsigned)(a - d->att), a->fd, sa);
    /* loopback may connect at once: poll then reports it writable all the same */
    if (connect(a->fd, sa, addr_len(&a->addr)) != 0 && errno != EINPROGRESS) {
        r = -errno;
        attempt_close(a);
        return r;
    }
    r = uv_poll_init_socket(d->loop, &a->poll, a->fd);
    if (r < 0) {
        attempt_close(a);
        return r;
    }
    a->poll.data = a;
    a->polling = true;
    d->pending++;
    uv_poll_start(&a->poll, UV_WRITABLE, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t);

/*
 * Start the next address (and the ones after it that fail at once, like an IPv6 address
 * without an IPv6 route); the timer starts the one after that unless an answer comes first.
 * With nothing left to try or to wait for, the dial has failed.
 */
static void try_next(struct dial *d)
{
    uv_timer_stop(&d->timer);
    while (d->next < d->n) {
        struct attempt *a = &d->att[d->next++];
        int r = attempt_start(d, a);
        if (r == 0) {
            d->running++;
            if (d->next < d->n)
                uv_timer_start(&d->timer, on_timer, DIAL_ATTEMPT_DELAY_MS, 0);
            return;
        }
        d->last_err = r;
        if (d->ops->on_attempt_failed)
            d->ops->on_attempt_failed(d->arg, (unsigned)(a - d->att),
                                      (const struct sockaddr *)&a->addr, r);
    }
    if (d->running == 0) {
        stop(d);
        d->ops->on_done(d->arg, d->last_err, 0, -1, NULL);
    }
}

static void on_timer(uv_timer_t *t)
{
    try_next(t->data);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct attempt *a = h->data;
    struct dial *d = a->d;
    int err = 0, fd;
    socklen_t len = sizeof err;

    if (d->over)
        return;
    /* libuv reports a failed connect as UV_EBADF (POLLERR): the socket knows the reason */
    if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == 0 && status < 0)
        err = -status;
    if (err == 0 && !(events & UV_WRITABLE))
        return;
    d->running--;
    if (err == 0) {
        fd = a->fd;
        a->fd = -1; /* the caller's now: closing the poll handle must leave it open */
        stop(d);
        d->ops->on_done(d->arg, 0, (unsigned)(a - d->att), fd, (const struct sockaddr *)&a->addr);
        return;
    }
    d->last_err = -err;
    attempt_close(a);
    if (d->ops->on_attempt_failed)
        d->ops->on_attempt_failed(d->arg, (unsigned)(a - d->att), (const struct sockaddr *)&a->addr,
                                  -err);
    /* RFC 8305 5: a failure starts the next attempt at once, without waiting for the delay */
    try_next(d);
}

/*
 * RFC 8305 4: alternate the families, starting with the first address's, each family in the
 * order given (the resolver's RFC 6724 sort).
 */
static void interleave(struct attempt *att, const struct sockaddr_storage *addrs, size_t n)
{
    int first = addrs[0].ss_family;
    size_t i = 0, j = 0, k = 0;

    while (k < n) {
        while (i < n && addrs[i].ss_family != first)
            i++;
        if (i < n)
            att[k++].addr = addrs[i++];
        while (j < n && addrs[j].ss_family == first)
            j++;
        if (j < n)
            att[k++].addr = addrs[j++];
    }
}

int dial_start(uv_loop_t *loop, const struct sockaddr_storage *addrs, size_t n,
               const struct dial_ops *ops, void *arg, struct dial **out)
{
    struct dial *d;

    if (n == 0)
        return UV_EINVAL;
    d = calloc(1, sizeof *d + n * sizeof d->att[0]);
    if (!d)
        return UV_ENOMEM;
    d->ops = ops;
    d->arg = arg;
    d->loop = loop;
    d->n = n;
    d->last_err = UV_ECONNREFUSED;
    interleave(d->att, addrs, n);
    for (size_t i = 0; i < n; i++) {
        d->att[i].d = d;
        d->att[i].fd = -1;
    }
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->pending = 1; /* the timer */
    /* the first attempt starts from the loop, so that no callback runs inside this call */
    uv_timer_start(&d->timer, on_timer, 0, 0);
    *out = d;
    return 0;
}

void dial_cancel(struct dial *d)
{
    assert(!d->over);
    stop(d);
}
