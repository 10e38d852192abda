#include "proxy/relay/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/relay/conn.h"
#include "proxy/relay/emfile.h"
#include "proxy/relay/intercept.h"
#include "proxy/log.h"
#include "proxy/faults/packet.h"
#include "proxy/relay/relay.h"
#include "proxy/stats.h"

const char *sockaddr_text(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, "?");
    }
    return buf;
}

const char *hostport_text(const char *host, uint16_t port, char *buf, size_t len)
{
    bool v6 = strchr(host, ':') != NULL;

    snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
    return buf;
}

/* A literal address, or NULL-terminated failure: no name lookups here. */
static int parse_literal(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
        return 0;
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss);
}

/* The listen address: a literal, all interfaces (""), or a name resolved once at start
 * (blocking is fine before the loop runs). */
static int listen_addr(const struct proxy_cfg *p, struct sockaddr_storage *ss)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    char port[8];

    if (p->listen_host[0] == '\0')
        return parse_literal("::", p->listen_port, ss);
    if (parse_literal(p->listen_host, p->listen_port, ss) == 0)
        return 0;
    snprintf(port, sizeof port, "%u", p->listen_port);
    if (getaddrinfo(p->listen_host, port, &hints, &res) != 0)
        return UV_EAI_NONAME;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* Clients accepted per wake-up: the loop's other work runs between batches (the socket stays
 * readable, so the rest come at the next round). */
#define ACCEPT_BATCH 64
/* How long a listener that cannot accept for want of a resource (no descriptor free and none in
 * reserve, no kernel memory) waits to try again: polling the still readable socket meanwhile
 * would spin. */
#define STARVED_RETRY_MS 100

static void on_readable(uv_poll_t *h, int status, int events);

static void on_wait_over(uv_timer_t *t)
{
    struct listener *l = t->data;

    emfile_reserve();
    if (l->open)
        uv_poll_start(&l->poll, UV_READABLE, on_readable);
}

static void starved_wait(struct listener *l, const char *what)
{
    if (!l->waiting_said)
        LOG(LOG_LEVEL_WARN, l->p->name, "accept_failed",
            "accept: %s: waiting for it to come free (clients wait in the backlog)", what);
    l->waiting_said = true;
    uv_poll_stop(&l->poll);
    uv_timer_start(&l->wait, on_wait_over, STARVED_RETRY_MS, 0);
}

/* accept(2) failed with -err: returns whether to go on accepting. */
static bool accept_failed(struct listener *l, int err)
{
    bool stuck;
    uint64_t n;

    if (err == UV_EAGAIN) /* EWOULDBLOCK on Linux too */
        return false;
    if (err == UV_EINTR || err == UV_ECONNABORTED) /* the client gave up while queued */
        return true;
    if (err == UV_EMFILE || err == UV_ENFILE) {
        n = emfile_shed(l->fd, &stuck);
        l->stats->accept_failures[err == UV_EMFILE ? ACCEPT_EMFILE : ACCEPT_ENFILE] += n;
        emfile_log(l->rc->loop, l->p->name, err, n);
        if (stuck)
            starved_wait(l, err == UV_ENFILE ? "too many open files in system, and none in reserve"
                                             : "too many open files, and none in reserve");
        return false;
    }
    l->stats->accept_failures[ACCEPT_OTHER]++;
    if (err == UV_ENOBUFS || err == UV_ENOMEM) {
        starved_wait(l, uv_strerror(err));
        return false;
    }
    /* Linux reports a queued connection's own network error (EPROTO, EHOSTUNREACH, EPERM from
     * a firewall...) from accept: that client is gone, the next may be fine */
    LOG(LOG_LEVEL_WARN, l->p->name, "accept", "accept failed: %s", uv_strerror(err));
    return true;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct listener *l = h->data;
    int fd;

    (void)events;
    if (status < 0) {
        accept_failed(l, status);
        return;
    }
    for (int i = 0; i < ACCEPT_BATCH && l->open; i++) {
        if (l->rc->stopping) { /* clients stay in the backlog until the listener closes */
            uv_poll_stop(&l->poll);
            return;
        }
        fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (accept_failed(l, -errno))
                continue;
            return;
        }
        l->waiting_said = false;
        conn_accept(l, fd);
    }
}

void listener_ref(struct listener *l)
{
    l->refs++;
}

void listener_unref(struct listener *l)
{
    if (--l->refs > 0)
        return;
    stats_unref(l->stats);
    cfg_gen_unref(l->gen);
    free(l);
}

static void on_handle_closed(uv_handle_t *h)
{
    listener_unref(h->data);
}

/*
 * A client-leg packet fault must see the whole close, including a FIN the client sends before
 * finwait sent anything marked. With the listener marked, the connection is tagged from its
 * handshake (whose segments themselves bypass the queue); accepted sockets inherit the mark,
 * and connections the fault does not apply to drop it (conn_accept).
 */
static void mark_listener(struct listener *l)
{
    uint32_t mark = 0;

    if (!l->rc->pe)
        return;
    for (size_t i = 0; i < l->p->nfaults && !mark; i++) {
        const struct fault *f = &l->p->faults[i];
        if (fault_type_is_packet(f->type) && f->leg == FAULT_LEG_CLIENT)
            mark = packet_engine_mark(l->rc->pe);
    }
    if (!mark && !l->marked)
        return;
    /* a reload may take the last client-leg packet fault away: then the mark goes too */
    l->marked = setsockopt(l->fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) == 0 && mark;
}

/* TPROXY hands the listener connections addressed to other hosts: only a transparent socket
 * may take them (the flag is looked at per packet, so a reload can set it on a bound socket). */
static void set_transparent(struct listener *l)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (!l->p->intercept.on || l->p->intercept.mode != INTERCEPT_TPROXY ||
        getsockname(l->fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (intercept_listen_transparent(l->fd, ss.ss_family) < 0)
        LOG(LOG_LEVEL_ERROR, l->p->name, "intercept",
            "cannot make the listener transparent (IP_TRANSPARENT) for mode: tproxy: needs "
            "CAP_NET_ADMIN");
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
                                           : ((const struct sockaddr_in *)ss)->sin_port);
}

int listener_upstream_of(struct listener *l, int fd, struct sockaddr_storage *dst)
{
    const struct proxy_cfg *p = l->p;
    struct sockaddr_storage self;
    socklen_t len = sizeof self;
    int r;

    if (!p->intercept.on)
        return 0;
    r = intercept_original_dst(fd, p->intercept.mode, dst);
    if (r < 0)
        return r;
    if (getsockname(fd, (struct sockaddr *)&self, &len) != 0)
        return -errno;
    /* after a REDIRECT the original destination is another address; one that is the
     * listener's own address means the client addressed finwait itself. TPROXY changes no
     * address: a connection to the listener's port is one made to finwait itself. */
    if (p->intercept.mode == INTERCEPT_REDIRECT
            ? intercept_same_addr((struct sockaddr *)dst, (struct sockaddr *)&self)
            : sockaddr_port(dst) == l->port)
        return proxy_cfg_has_upstream(p) ? 0 : UV_ELOOP;
    return 1;
}

static void log_listening(const struct listener *l, const char *event, const char *what)
{
    const struct proxy_cfg *p = l->p;
    struct log_kv kv[] = {{"addr", l->addr_text, 0}, {"upstream", NULL, 0}, {"faults", NULL, 0}};
    char up[300];

    if (proxy_cfg_has_upstream(p))
        kv[1].str = hostport_text(p->upstream_host, p->upstream_port, up, sizeof up);
    else
        kv[1].str = "the original destination";
    kv[2].num = p->nfaults;
    log__event(LOG_LEVEL_INFO, p->name, event, kv, 3, "%slistening on %s -> upstream %s%s", what,
               l->addr_text, kv[1].str,
               p->intercept.on
                   ? (p->intercept.mode == INTERCEPT_TPROXY ? " (intercepting: tproxy)"
                                                            : " (intercepting: redirect)")
                   : "");
}

static void set_upstream(struct listener *l)
{
    const struct proxy_cfg *p = l->p;

    l->upstream_literal = parse_literal(p->upstream_host, p->upstream_port, &l->upstream_addr) == 0;
}

/* The listening socket, bound to ss: a negative errno when it cannot be. */
static int listen_socket(const struct proxy_cfg *p, const struct sockaddr_storage *ss)
{
    int on = 1, off = 0, r;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    /* As libuv's bind does: a restarted finwait binds again a port whose connections are in
     * TIME_WAIT, and `::` takes IPv4 clients too. A TPROXY listener is transparent before
     * bind. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        (ss->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0))
        goto fail;
    if (p->intercept.on && p->intercept.mode == INTERCEPT_TPROXY)
        intercept_listen_transparent(fd, ss->ss_family);
    if (bind(fd, (const struct sockaddr *)ss,
             ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in)) != 0 ||
        listen(fd, 511) != 0)
        goto fail;
    return fd;
fail:
    r = -errno;
    close(fd);
    return r;
}

struct listener *listener_start(struct relay_ctx *rc, struct cfg_gen *gen,
                                const struct proxy_cfg *p, int *err)
{
    struct sockaddr_storage ss;
    struct listener *l;
    socklen_t len = sizeof ss;
    char want[80];
    int r;

    r = listen_addr(p, &ss);
    if (r < 0) {
        LOG(LOG_LEVEL_ERROR, p->name, "listen_failed", "cannot resolve listen address '%s': %s",
            p->listen_host, uv_strerror(r));
        *err = r;
        return NULL;
    }
    l = calloc(1, sizeof *l);
    if (!l || !(l->stats = stats_get(&rc->stats, p->name))) {
        LOG(LOG_LEVEL_ERROR, p->name, "listen_failed", "out of memory");
        free(l);
        *err = UV_ENOMEM;
        return NULL;
    }
    l->rc = rc;
    l->gen = cfg_gen_ref(gen);
    l->p = p;
    l->refs = 1; /* until the handles exist */
    l->next_id = 1;
    fault_rng_seed(&l->rng, rc->seed, p->name);
    set_upstream(l);
    emfile_reserve(); /* before the first client: a shed needs a descriptor to give up */

    sockaddr_text((struct sockaddr *)&ss, want, sizeof want);
    l->fd = r = listen_socket(p, &ss);
    if (r >= 0 && (r = uv_poll_init_socket(rc->loop, &l->poll, l->fd)) < 0)
        close(l->fd);
    if (r < 0) {
        LOG(LOG_LEVEL_ERROR, p->name, "listen_failed", "cannot listen on %s: %s", want,
            uv_strerror(r));
        listener_unref(l);
        *err = r;
        return NULL;
    }
    uv_timer_init(rc->loop, &l->wait);
    l->poll.data = l->wait.data = l;
    l->refs = 2; /* the handles */
    l->open = true;
    uv_poll_start(&l->poll, UV_READABLE, on_readable);
    mark_listener(l);
    getsockname(l->fd, (struct sockaddr *)&ss, &len);
    sockaddr_text((struct sockaddr *)&ss, l->addr_text, sizeof l->addr_text);
    l->port = sockaddr_port(&ss);
    /* Always printed, whatever the level: tests and scripts read the bound port from it. */
    log_listening(l, "listening", "");
    return l;
}

void listener_update(struct listener *l, struct cfg_gen *gen, const struct proxy_cfg *p,
                     bool reseed)
{
    bool same = strcmp(l->p->name, p->name) == 0 && proxy_cfg_same(l->p, p);
    struct proxy_stats *st;

    /* renamed (the same socket under a new name): new connections count under the new name */
    if (strcmp(l->stats->name, p->name) != 0 && (st = stats_get(&l->rc->stats, p->name))) {
        stats_unref(l->stats);
        l->stats = st;
    }
    cfg_gen_ref(gen);
    cfg_gen_unref(l->gen);
    l->gen = gen;
    l->p = p;
    if (reseed)
        fault_rng_seed(&l->rng, l->rc->seed, p->name);
    set_upstream(l);
    mark_listener(l);
    set_transparent(l);
    /* an API call changes one proxy: the others need not say anything */
    if (!same)
        log_listening(l, "reloaded", "reloaded: ");
}

void listener_stop(struct listener *l)
{
    if (!l->open)
        return;
    l->open = false;
    /* closing the poll handle stops its polling at once: the descriptor can go now, and its
     * port is free for a listener started in the same turn of the loop */
    uv_close((uv_handle_t *)&l->poll, on_handle_closed);
    uv_close((uv_handle_t *)&l->wait, on_handle_closed);
    close(l->fd);
}
