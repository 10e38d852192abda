/*
 * The admin API's HTTP side: libmicrohttpd in finwait's loop (its epoll fd polled by libuv),
 * with bounds on what the API may take from the relay: a few connections, each request a
 * limited time. finwait accepts the connections itself (proxy/admin/admin_accept.c) and hands
 * them to libmicrohttpd, so that running out of descriptors never leaves the API deaf. The requests
 * themselves are proxy/admin/admin_api.c's.
 */
#include "proxy/admin/admin.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <uv.h>

#include "proxy/admin/admin_accept.h"
#include "proxy/admin/admin_api.h"
#include "proxy/admin/admin_stream.h"
#include "proxy/admin/events.h"
#include "proxy/relay/listener.h"
#include "proxy/log.h"
#include "proxy/server.h"
#include "proxy/stats.h"
#include "rules/config.h"

/*
 * One admin HTTP connection. libmicrohttpd's own timeout is for inactivity: a client sending
 * a byte a second would hold the connection for ever. `since` starts a request's clock (the
 * connection's start, or the previous answer on a kept-alive one); past admin.request_timeout
 * the socket is shut down and libmicrohttpd closes it.
 */
struct hconn {
    struct hconn *next;
    struct hconn **pprev;
    int fd;
    uint64_t since;              /* uv_now() when the current request could have started */
    bool cut;                    /* shut down for its deadline; libmicrohttpd closes it next */
    struct admin_stream *stream; /* an /events stream: lives long, no deadline */
};

struct admin {
    struct server *srv;
    struct admin_api *api;
    struct MHD_Daemon *mhd;
    struct admin_accept listen; /* the listening socket */
    uv_poll_t poll;             /* MHD's epoll fd */
    uv_timer_t timer;           /* MHD's connection timeouts */
    uv_timer_t deadlines;       /* checks request deadlines while connections are open */
    int handles;                /* poll, the timers and `listen` not closed yet */
    struct hconn *conns;
    unsigned nconns, max_conns; /* open admin connections, and admin.max_connections */
    uint64_t request_timeout_ms;
    uint64_t requests;  /* answered so far: the low bits of the X-Toxiproxy-Request-Id */
    uint8_t id_salt[5]; /* random at start: ids differ between processes */
    bool kicked;        /* an event stream was resumed: libmicrohttpd must run next round */
};

/* One HTTP request: its body as it arrives. */
struct req {
    char *body;
    size_t len;   /* kept in body */
    size_t total; /* received (more than ADMIN_BODY_MAX: refused unread) */
};

/* --- HTTP (libmicrohttpd in the loop) --- */

static void schedule(struct admin *a);

static struct hconn *hconn_of(struct MHD_Connection *mc);
static void kick(void *ctx);

/*
 * An X-Toxiproxy-Request-Id as Toxiproxy makes them (an xid): 12 bytes, the time in seconds,
 * 5 random bytes of this process and a counter, written as 20 characters of base32hex. Opaque,
 * unique per process, and not guessable from the previous one's number alone.
 */
static void request_id(struct admin *a, char out[21])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuv";
    uint32_t t = (uint32_t)time(NULL), n = (uint32_t)++a->requests;
    uint8_t b[12] = {(uint8_t)(t >> 24), (uint8_t)(t >> 16), (uint8_t)(t >> 8), (uint8_t)t};
    unsigned acc = 0, bits = 0, o = 0;

    memcpy(b + 4, a->id_salt, sizeof a->id_salt);
    b[9] = (uint8_t)(n >> 16);
    b[10] = (uint8_t)(n >> 8);
    b[11] = (uint8_t)n;
    for (size_t i = 0; i < sizeof b; i++) {
        acc = (acc << 8) | b[i];
        for (bits += 8; bits >= 5; bits -= 5)
            out[o++] = digits[(acc >> (bits - 5)) & 31];
    }
    out[o++] = digits[(acc << (5 - bits)) & 31]; /* 96 bits: 19 digits and 1 bit */
    out[o] = '\0';
}

static enum MHD_Result send_response(struct admin *a, struct MHD_Connection *mc,
                                     struct admin_response *r)
{
    struct MHD_Response *resp;
    struct hconn *h;
    enum MHD_Result ok;
    char id[32];

    if (r->stream && (h = hconn_of(mc)) != NULL) {
        resp = admin_stream_response(r->stream, mc, h->fd, &h->stream, kick, a);
        r->stream = NULL; /* the response's now, also when it failed */
    } else {
        resp = MHD_create_response_from_buffer(r->body_len, r->body ? r->body : (void *)"",
                                               MHD_RESPMEM_MUST_COPY);
    }
    if (!resp) {
        admin_response_free(r);
        return MHD_NO;
    }
    if (r->content_type)
        MHD_add_response_header(resp, "Content-Type", r->content_type);
    if (r->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    stats_admin_request(r->status);
    request_id(a, id);
    MHD_add_response_header(resp, "X-Toxiproxy-Request-Id", id);
    ok = MHD_queue_response(mc, r->status, resp);
    MHD_destroy_response(resp);
    admin_response_free(r);
    return ok;
}

static const char *query_arg(const struct admin_request *rq, const char *key)
{
    return MHD_lookup_connection_value(rq->http, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct admin *a = cls;
    struct req *rq = *con_cls;
    struct admin_request in = {.method = method, .path = url, .arg = query_arg, .http = mc};
    struct admin_response out;
    const char *clen;

    (void)version;
    if (!rq || !*upload_size) {
        in.user_agent = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "User-Agent");
        in.host = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Host");
        in.authorization = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
        in.accept = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Accept");
    }
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        *con_cls = rq;
        if (!rq)
            return MHD_NO;
        /* a body announced too big is refused before it is read */
        clen = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
        if (clen && strtoull(clen, NULL, 10) > ADMIN_BODY_MAX) {
            in.body_len = (size_t)ADMIN_BODY_MAX + 1;
            admin_api_handle(a->api, &in, &out);
            return send_response(a, mc, &out);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        rq->total += n;
        if (rq->total <= ADMIN_BODY_MAX) {
            char *b = realloc(rq->body, rq->len + n + 1);
            if (!b)
                return MHD_NO;
            memcpy(b + rq->len, upload, n);
            rq->body = b;
            rq->len += n;
            b[rq->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    in.body = rq->body;
    in.body_len = rq->total;
    admin_api_handle(a->api, &in, &out);
    return send_response(a, mc, &out);
}

static struct hconn *hconn_of(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct admin *a = cls;
    struct req *rq = *con_cls;
    struct hconn *h = hconn_of(mc);

    (void)toe;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
    if (h)
        h->since = uv_now(a->srv->relay.loop); /* the next request's clock */
}

static void on_deadlines(uv_timer_t *t)
{
    struct admin *a = t->data;
    uint64_t now = uv_now(a->srv->relay.loop);

    for (struct hconn *h = a->conns; h; h = h->next) {
        if (h->stream) {
            admin_stream_check_peer(h->stream);
            continue;
        }
        if (h->cut || now - h->since < a->request_timeout_ms)
            continue;
        /* libmicrohttpd has no call to close a connection: a shut-down socket reads EOF,
         * and it closes the connection on its next round */
        LOG(LOG_LEVEL_WARN, NULL, "api",
            "admin API: no complete request in %" PRIu64 " ms (admin.request_timeout); "
            "connection closed",
            a->request_timeout_ms);
        shutdown(h->fd, SHUT_RDWR);
        h->cut = true;
    }
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct admin *a = cls;
    struct hconn *h = *socket_context;
    const union MHD_ConnectionInfo *ci;
    uint64_t tick;

    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (!h)
            return;
        admin_stream_forget(h->stream);
        *h->pprev = h->next;
        if (h->next)
            h->next->pprev = h->pprev;
        free(h);
        if (a->nconns-- == a->max_conns)
            admin_accept_resume(&a->listen);
        *socket_context = NULL;
        if (!a->conns)
            uv_timer_stop(&a->deadlines);
        return;
    }
    ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    h = calloc(1, sizeof *h);
    if (!h || !ci) {
        free(h);
        return; /* no deadline for it: libmicrohttpd's inactivity timeout still holds */
    }
    h->fd = ci->connect_fd;
    h->since = uv_now(a->srv->relay.loop);
    h->next = a->conns;
    h->pprev = &a->conns;
    if (a->conns)
        a->conns->pprev = &h->next;
    a->conns = h;
    *socket_context = h;
    if (++a->nconns >= a->max_conns) /* the next clients wait in the backlog */
        admin_accept_pause(&a->listen);
    if (!uv_is_active((uv_handle_t *)&a->deadlines)) {
        tick = a->request_timeout_ms / 10 ? a->request_timeout_ms / 10 : 1;
        uv_timer_start(&a->deadlines, on_deadlines, tick, tick);
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    LOG(LOG_LEVEL_WARN, NULL, "api", "admin API: %s", msg);
}

static void run(struct admin *a)
{
    a->kicked = false;
    MHD_run(a->mhd);
    schedule(a);
}

static void on_timer(uv_timer_t *t)
{
    run(t->data);
}

static void kick(void *ctx)
{
    struct admin *a = ctx;

    a->kicked = true;
    uv_timer_start(&a->timer, on_timer, 0, 0);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status, (void)events;
    run(p->data);
}

/* MHD's own timeouts (idle HTTP connections), and work it left for the next round. */
static void schedule(struct admin *a)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (a->kicked) /* resumed during MHD_run: that round did not see it */
        uv_timer_start(&a->timer, on_timer, 0, 0);
    else if (MHD_get_timeout(a->mhd, &ms) == MHD_YES)
        uv_timer_start(&a->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&a->timer);
}

/* A client accepted by finwait: libmicrohttpd's from now on (it closes fd if it refuses it). */
static void on_accepted(void *ctx, int fd, const struct sockaddr *sa, socklen_t len)
{
    struct admin *a = ctx;

    MHD_add_connection(a->mhd, fd, sa, len);
    run(a);
}

static void on_listen_closed(struct admin_accept *aa)
{
    struct admin *a = aa->ctx;

    if (--a->handles == 0)
        free(a);
}

int admin_start(struct admin **out, struct server *srv, const char *host, uint16_t port)
{
    const struct config *cfg = srv->gen->cfg;
    struct sockaddr_storage ss;
    const union MHD_DaemonInfo *info;
    struct admin *a;
    char addr[80];
    unsigned idle_s;
    int r;

    memset(&ss, 0, sizeof ss);
    if (host[0] == '\0')
        host = "::";
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
        LOG(LOG_LEVEL_ERROR, NULL, "admin", "admin API: '%s' is not an IP address", host);
        return -1;
    }
    a = calloc(1, sizeof *a);
    if (!a || admin_api_new(&a->api, srv) != 0) {
        free(a);
        return -1;
    }
    /* without randomness (no getrandom), the ids stay unique within this process */
    uint8_t seed[8] = {0};
    (void)uv_random(NULL, NULL, seed, sizeof seed, 0, NULL);
    memcpy(a->id_salt, seed, sizeof a->id_salt);
    a->requests = (uint64_t)seed[5] << 16 | (uint64_t)seed[6] << 8 | seed[7];
    a->srv = srv;
    a->request_timeout_ms = cfg->admin_request_timeout_ms;
    a->max_conns = cfg->admin_max_connections;
    /* an idle kept-alive connection goes after the time a request may take */
    idle_s = (unsigned)((cfg->admin_request_timeout_ms + 999) / 1000);
    a->mhd = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET, 0,
        NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        a, MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_CONNECTION_LIMIT,
        cfg->admin_max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->admin_max_connections,
        MHD_OPTION_END);
    r = a->mhd
            ? admin_accept_open(&a->listen, srv->relay.loop, (struct sockaddr *)&ss, on_accepted, a)
            : UV_ENOMEM;
    if (r < 0) {
        LOG(LOG_LEVEL_ERROR, NULL, "admin", "admin API: cannot listen on %s: %s",
            hostport_text(host, port, addr, sizeof addr), uv_strerror(r));
        if (a->mhd)
            MHD_stop_daemon(a->mhd);
        admin_api_free(a->api);
        free(a);
        return -1;
    }
    port = admin_accept_port(&a->listen);
    hostport_text(host, port, addr, sizeof addr);
    info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    uv_poll_init(srv->relay.loop, &a->poll, info->epoll_fd);
    uv_timer_init(srv->relay.loop, &a->timer);
    uv_timer_init(srv->relay.loop, &a->deadlines);
    a->poll.data = a;
    a->timer.data = a;
    a->deadlines.data = a;
    a->handles = 4;
    uv_poll_start(&a->poll, UV_READABLE, on_poll);
    schedule(a);
    /* Always printed, like the proxies' listening lines: tests and scripts read the port. */
    struct log_kv kv[] = {{"addr", addr, 0}};
    log__event(LOG_LEVEL_INFO, NULL, "admin_listening", kv, 1,
               "admin API (Toxiproxy's) listening on %s", addr);
    *out = a;
    return 0;
}

void admin_file_reloaded(struct admin *a)
{
    admin_api_file_reloaded(a->api);
}

static void on_closed(uv_handle_t *h)
{
    struct admin *a = h->data;

    if (--a->handles == 0)
        free(a);
}

void admin_stop(struct admin *a)
{
    /* Event streams end with their last chunk, so that a follower exits as on a finished
     * download: resumed, they get a few rounds to send it (more would block the stop on a
     * subscriber that does not read). libmicrohttpd must not stop with one suspended. */
    if (events_subscribers()) {
        events_stop_all();
        for (int i = 0; i < 4; i++)
            MHD_run(a->mhd);
    }
    admin_accept_close(&a->listen, on_listen_closed);
    /* out of libuv's epoll before MHD closes the fd */
    uv_poll_stop(&a->poll);
    MHD_stop_daemon(a->mhd);
    admin_api_free(a->api);
    uv_close((uv_handle_t *)&a->poll, on_closed);
    uv_close((uv_handle_t *)&a->timer, on_closed);
    uv_close((uv_handle_t *)&a->deadlines, on_closed);
}
