/*
 * c-ares on a libuv loop. c-ares says which sockets it wants watched (ARES_OPT_SOCK_STATE_CB):
 * each gets a uv_poll_t, and a uv_timer_t wakes it for its retransmits and timeouts
 * (ares_timeout). A lookup that c-ares answers at once (a name in /etc/hosts) is delivered
 * from a uv_idle_t on the next loop iteration, so that no caller sees its callback run inside
 * resolve_start().
 */
#include "proxy/relay/resolve.h"

#include <ares.h>
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A socket c-ares asked to have watched. */
struct rsock {
    uv_poll_t poll;
    ares_socket_t fd;
    struct resolver *r;
    struct rsock *next;
};

struct resolve_req {
    struct resolver *r;
    resolve_cb cb;
    void *arg;
    bool starting;            /* inside resolve_start(): an answer must wait for `later` */
    bool cancelled;           /* cb must not run; the request is freed when c-ares is done */
    int status;               /* ARES_* of an answer that waits for `later` */
    struct ares_addrinfo *ai; /* its addresses */
    struct resolve_req *next; /* r->ready */
};

struct resolver {
    uv_loop_t *loop;
    ares_channel ch;
    uv_timer_t timer;          /* c-ares' next timeout */
    uv_idle_t later;           /* delivers `ready` */
    struct rsock *socks;       /* sockets c-ares wants watched */
    struct resolve_req *ready; /* answered inside resolve_start(), in answer order reversed */
    int pending;               /* handles still to close before r can be freed */
    bool closing;              /* resolver_close() ran */
};

static void resolver_release(struct resolver *r)
{
    if (--r->pending > 0)
        return;
    ares_destroy(r->ch);
    ares_library_cleanup();
    free(r);
}

static void on_handle_closed(uv_handle_t *h)
{
    resolver_release(h->data);
}

static void on_sock_closed(uv_handle_t *h)
{
    struct rsock *s = h->data;
    struct resolver *r = s->r;

    free(s);
    resolver_release(r);
}

static void on_timer(uv_timer_t *t);

/* Wake c-ares when it next wants to retransmit or give up, or never if nothing is pending. */
static void rearm(struct resolver *r)
{
    struct timeval tv, *tvp;

    if (r->closing)
        return;
    tvp = ares_timeout(r->ch, NULL, &tv);
    if (!tvp) {
        uv_timer_stop(&r->timer);
        return;
    }
    uv_timer_start(&r->timer, on_timer, (uint64_t)tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000,
                   0);
}

static void on_timer(uv_timer_t *t)
{
    struct resolver *r = t->data;

    ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm(r);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct rsock *s = h->data;
    struct resolver *r = s->r;
    ares_socket_t fd = s->fd;

    /* On an error let c-ares read and write: it finds out what happened and closes the
     * socket (through sock_state, which may free s). */
    if (status < 0)
        events = UV_READABLE | UV_WRITABLE;
    ares_process_fd(r->ch, events & UV_READABLE ? fd : ARES_SOCKET_BAD,
                    events & UV_WRITABLE ? fd : ARES_SOCKET_BAD);
    rearm(r);
}

static void sock_close(struct resolver *r, struct rsock **link)
{
    struct rsock *s = *link;

    *link = s->next;
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* c-ares wants fd watched for reading and/or writing, or (neither) is about to close it. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct resolver *r = data;
    struct rsock **link = &r->socks, *s;
    int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);

    while (*link && (*link)->fd != fd)
        link = &(*link)->next;
    s = *link;
    if (!events) {
        /* the poll handle lets go of fd at once, before c-ares closes it */
        if (s)
            sock_close(r, link);
        return;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return; /* the query times out through the timer */
        if (uv_poll_init_socket(r->loop, &s->poll, fd) != 0) {
            free(s);
            return;
        }
        s->poll.data = s;
        s->fd = fd;
        s->r = r;
        s->next = r->socks;
        r->socks = s;
        r->pending++;
    }
    uv_poll_start(&s->poll, events, on_poll);
}

/* c-ares' status as a libuv code, for the log line that says why a connection failed. */
static int status_code(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return 0;
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME:
    case ARES_EBADNAME:
        return UV_EAI_NONAME;
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
        return UV_EAI_AGAIN;
    case ARES_ENOMEM:
        return UV_EAI_MEMORY;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        return UV_EAI_CANCELED;
    default:
        return UV_EAI_FAIL;
    }
}

static void req_free(struct resolve_req *q)
{
    if (q->ai)
        ares_freeaddrinfo(q->ai);
    free(q);
}

/* Give q's answer to its caller and free q. */
static void deliver(struct resolve_req *q)
{
    struct sockaddr_storage *addrs = NULL;
    struct ares_addrinfo_node *nd;
    size_t n = 0, i = 0;
    int status = status_code(q->status);

    if (status == 0) {
        for (nd = q->ai->nodes; nd; nd = nd->ai_next)
            n++;
        addrs = n ? calloc(n, sizeof *addrs) : NULL;
        if (!n)
            status = UV_EAI_NODATA;
        else if (!addrs)
            status = UV_EAI_MEMORY;
    }
    if (status == 0) {
        for (nd = q->ai->nodes; nd; nd = nd->ai_next) {
            size_t len = nd->ai_addrlen;
            if (len > sizeof *addrs || (nd->ai_family != AF_INET && nd->ai_family != AF_INET6))
                continue;
            memcpy(&addrs[i++], nd->ai_addr, len);
        }
        n = i;
        if (!n)
            status = UV_EAI_NODATA;
    }
    q->cb(q->arg, status, status == 0 ? addrs : NULL, status == 0 ? n : 0);
    free(addrs);
    req_free(q);
}

static void on_later(uv_idle_t *h)
{
    struct resolver *r = h->data;

    uv_idle_stop(h);
    while (r->ready) {
        struct resolve_req *q = r->ready;
        r->ready = q->next;
        if (q->cancelled)
            req_free(q);
        else
            deliver(q);
    }
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    struct resolve_req *q = arg;
    struct resolver *r = q->r;

    (void)timeouts;
    q->status = status;
    q->ai = ai;
    if (q->cancelled || status == ARES_EDESTRUCTION) {
        req_free(q);
        return;
    }
    if (q->starting) {
        q->next = r->ready;
        r->ready = q;
        uv_idle_start(&r->later, on_later);
        return;
    }
    deliver(q);
}

int resolver_open(uv_loop_t *loop, struct resolver **out)
{
    struct ares_options opt = {0};
    struct resolver *r;
    int st;

    st = ares_library_init(ARES_LIB_INIT_ALL);
    if (st != ARES_SUCCESS)
        return UV_ENOMEM;
    r = calloc(1, sizeof *r);
    if (!r) {
        ares_library_cleanup();
        return UV_ENOMEM;
    }
    opt.sock_state_cb = sock_state;
    opt.sock_state_cb_data = r;
    st = ares_init_options(&r->ch, &opt, ARES_OPT_SOCK_STATE_CB);
    if (st != ARES_SUCCESS) {
        free(r);
        ares_library_cleanup();
        return st == ARES_ENOMEM ? UV_ENOMEM : UV_EAI_FAIL;
    }
    r->loop = loop;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_idle_init(loop, &r->later);
    r->later.data = r;
    r->pending = 2; /* timer, later */
    *out = r;
    return 0;
}

void resolver_close(struct resolver *r)
{
    assert(!r->closing);
    r->closing = true;
    /* The channel is destroyed with r, from a close callback: c-ares 1.18 frees a query twice
     * when ares_cancel() runs inside one of its callbacks, as this function may. Its pending
     * queries then end with ARES_EDESTRUCTION, which frees them without calling back. */
    while (r->ready) {
        struct resolve_req *q = r->ready;
        r->ready = q->next;
        req_free(q);
    }
    while (r->socks)
        sock_close(r, &r->socks);
    uv_close((uv_handle_t *)&r->timer, on_handle_closed);
    uv_close((uv_handle_t *)&r->later, on_handle_closed);
}

int resolve_start(struct resolver *r, const char *host, uint16_t port, resolve_cb cb, void *arg,
                  struct resolve_req **out)
{
    struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct resolve_req *q;
    char service[8];

    if (r->closing)
        return UV_ECANCELED;
    q = calloc(1, sizeof *q);
    if (!q)
        return UV_ENOMEM;
    q->r = r;
    q->cb = cb;
    q->arg = arg;
    q->starting = true;
    *out = q;
    snprintf(service, sizeof service, "%u", port);
    ares_getaddrinfo(r->ch, host, service, &hints, on_addrinfo, q);
    /* q may be waiting in r->ready now: it is still valid, and freed by on_later */
    q->starting = false;
    rearm(r);
    return 0;
}

void resolve_cancel(struct resolve_req *q)
{
    q->cancelled = true;
}
