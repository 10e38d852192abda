#include "proxy/relay/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void on_connection(uv_stream_t *s, int status)
{
    struct listener *l = s->data;

    if (status == UV_EMFILE || status == UV_ENFILE) {
        uv_os_fd_t fd;
        uint64_t n = uv_fileno((uv_handle_t *)s, &fd) == 0 ? emfile_shed(s->loop, fd) : 0;
        l->stats->accept_failures[status == UV_EMFILE ? ACCEPT_EMFILE : ACCEPT_ENFILE] += n;
        emfile_log(s->loop, l->p->name, status, n);
        return;
    }
    if (status < 0) {
        l->stats->accept_failures[ACCEPT_OTHER]++;
        LOG(LOG_LEVEL_WARN, l->p->name, "accept", "accept failed: %s", uv_strerror(status));
        return;
    }
    if (emfile_refuse(s)) {
        l->stats->accept_failures[ACCEPT_EMFILE]++;
        emfile_log(s->loop, l->p->name, UV_EMFILE, 1);
        return;
    }
    if (l->rc->stopping)
        return;
    conn_accept(l);
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
    uv_os_fd_t fd;
    uint32_t mark = 0;

    if (!l->rc->pe || uv_fileno((uv_handle_t *)&l->tcp, &fd) != 0)
        return;
    for (size_t i = 0; i < l->p->nfaults && !mark; i++) {
        const struct fault *f = &l->p->faults[i];
        if (fault_type_is_packet(f->type) && f->leg == FAULT_LEG_CLIENT)
            mark = packet_engine_mark(l->rc->pe);
    }
    if (!mark && !l->marked)
        return;
    /* a reload may take the last client-leg packet fault away: then the mark goes too */
    l->marked = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) == 0 && mark;
}

/* TPROXY hands the listener connections addressed to other hosts: only a transparent socket
 * may take them (the flag is looked at per packet, so a reload can set it on a bound socket). */
static void set_transparent(struct listener *l)
{
    uv_os_fd_t fd;
    struct sockaddr_storage ss;
    int len = sizeof ss;

    if (!l->p->intercept.on || l->p->intercept.mode != INTERCEPT_TPROXY ||
        uv_fileno((uv_handle_t *)&l->tcp, &fd) != 0 ||
        uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (intercept_listen_transparent(fd, ss.ss_family) < 0)
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

struct listener *listener_start(struct relay_ctx *rc, struct cfg_gen *gen,
                                const struct proxy_cfg *p, int *err)
{
    struct sockaddr_storage ss;
    struct listener *l;
    int len = sizeof ss;
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
    l->refs = 1; /* the handle */
    l->next_id = 1;
    fault_rng_seed(&l->rng, rc->seed, p->name);
    set_upstream(l);

    sockaddr_text((struct sockaddr *)&ss, want, sizeof want);
    /* the socket exists before bind: a TPROXY listener is made transparent first */
    uv_tcp_init_ex(rc->loop, &l->tcp, ss.ss_family);
    emfile_take_over(rc->loop); /* after the loop's first uv_tcp_init, which opens libuv's */
    l->tcp.data = l;
    if (p->intercept.on && p->intercept.mode == INTERCEPT_TPROXY) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&l->tcp, &fd) == 0)
            intercept_listen_transparent(fd, ss.ss_family);
    }
    r = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
    if (r < 0) {
        LOG(LOG_LEVEL_ERROR, p->name, "listen_failed", "cannot listen on %s: %s", want,
            uv_strerror(r));
        uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
        *err = r;
        return NULL;
    }
    l->open = true;
    mark_listener(l);
    uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len);
    sockaddr_text((struct sockaddr *)&ss, l->addr_text, sizeof l->addr_text);
    l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
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
    uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
}
