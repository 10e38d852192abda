#include "proxy/admin/admin_conns.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "proxy/admin/admin_api.h"
#include "proxy/relay/conn.h"
#include "proxy/relay/facts.h"
#include "proxy/faults/inject.h"
#include "proxy/relay/listener.h"
#include "proxy/log.h"
#include "proxy/server.h"
#include "proxy/relay/tcpinfo.h"
#include "proxy/relay/timeline.h"
#include "rules/config.h"

/* The routes' paths have at most four segments: /proxies/NAME/connections/ID. */
#define SEGS_MAX 4

/* --- one connection as JSON --- */

/* Milliseconds from uv_hrtime() `then` to `now`, or JSON null when it has not happened (0). */
static json_t *age_ms(uint64_t now, uint64_t then)
{
    return then ? json_integer((json_int_t)((now - then) / 1000000)) : json_null();
}

static json_t *leg_json(struct conn *c, enum leg_id l, uint64_t now)
{
    const struct leg *g = &c->legs[l];
    unsigned f = g->flags;
    struct tcpinfo_stats st = {0};
    json_t *o;

    o = json_pack("{s:s,s:o,s:b,s:o,s:b,s:o,s:b,s:b}", "state", conn_leg_state(c, l),
                  "state_age_ms", age_ms(now, g->state_ns), "fin_received",
                  (f & LEG_FIN_RECEIVED) != 0, "fin_received_age_ms",
                  age_ms(now, g->fin_received_ns), "fin_sent", (f & LEG_FIN_SENT) != 0,
                  "fin_sent_age_ms", age_ms(now, g->fin_sent_ns), "rst_received",
                  (f & LEG_RST_RECEIVED) != 0, "rst_sent", (f & LEG_RST_SENT) != 0);
    /* a leg without a socket (not connected yet, or reset and closed) has no counters */
    if (o && tcpinfo_stats(conn_leg_fd(c, l), &st) == 0) {
        json_object_set_new(o, "rtt_us", json_integer(st.rtt_us));
        json_object_set_new(o, "retransmits", json_integer(st.retransmits));
        json_object_set_new(o, "unacked", json_integer(st.unacked));
    } else if (o) {
        json_object_set_new(o, "rtt_us", json_null());
        json_object_set_new(o, "retransmits", json_null());
        json_object_set_new(o, "unacked", json_null());
    }
    return o;
}

static void fault_json(void *arg, const struct fault *f, const char *state)
{
    json_array_append_new(arg, json_pack("{s:s,s:s,s:s}", "name", f->name, "type",
                                         fault_type_name(f->type), "state", state));
}

/* The server's address as connected, else as configured (not connected yet). */
static void upstream_text(struct conn *c, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    int sl = sizeof ss;

    if (c->connected && c->legs[LEG_SERVER].open &&
        uv_tcp_getpeername(&c->legs[LEG_SERVER].tcp, (struct sockaddr *)&ss, &sl) == 0)
        sockaddr_text((struct sockaddr *)&ss, buf, len);
    else if (c->intercepted)
        sockaddr_text((const struct sockaddr *)&c->orig_dst, buf, len);
    else
        hostport_text(c->p->upstream_host, c->p->upstream_port, buf, len);
}

static json_t *conn_json(struct conn *c)
{
    char client[80], upstream[300];
    json_t *o, *faults = json_array();
    uint64_t now = uv_hrtime();

    sockaddr_text((const struct sockaddr *)&c->client, client, sizeof client);
    upstream_text(c, upstream, sizeof upstream);
    inject_describe(c, fault_json, faults);
    o = json_pack("{s:s,s:I,s:s,s:s,s:I,s:o,s:{s:o,s:o},s:{s:I,s:I},s:o}", "proxy",
                  conn_proxy_name(c), "id", (json_int_t)c->id, "client", client, "upstream",
                  upstream, "age_ms", (json_int_t)conn_elapsed_ms(c), "idle_ms",
                  age_ms(now, c->last_byte_ns), "legs", "client", leg_json(c, LEG_CLIENT, now),
                  "server", leg_json(c, LEG_SERVER, now), "bytes", "upstream",
                  (json_int_t)c->dirs[DIR_UPSTREAM].bytes_out, "downstream",
                  (json_int_t)c->dirs[DIR_DOWNSTREAM].bytes_out, "faults", faults);
    /* an intercepted connection: where its client was going (its upstream) */
    if (o && c->intercepted) {
        sockaddr_text((const struct sockaddr *)&c->orig_dst, upstream, sizeof upstream);
        json_object_set_new(o, "original_destination", json_string(upstream));
    }
    if (o) {
        /* the kinds found on it so far (GET /findings has the evidence) */
        json_t *found = json_array();
        unsigned bits = facts_found(c);
        for (int k = 0; k < VK_COUNT; k++)
            if (bits & (1u << k))
                json_array_append_new(found, json_string(verdict_kind_name((enum verdict_kind)k)));
        json_object_set_new(o, "findings", found);
    }
    return o;
}

/* --- finding them --- */

static bool proxy_known(const struct server *srv, const char *name)
{
    const struct config *cfg = srv->gen->cfg;

    for (size_t i = 0; i < cfg->nproxies; i++)
        if (strcmp(cfg->proxies[i].name, name) == 0)
            return true;
    /* a proxy a reload removed still shows the connections it is finishing */
    for (const struct conn *c = srv->conns; c; c = c->next)
        if (!c->closing && strcmp(conn_proxy_name(c), name) == 0)
            return true;
    return false;
}

/* An open connection of proxy `name` with that id; closing ones are over (their sockets are
 * being closed). NULL when none. */
static struct conn *find_conn(const struct server *srv, const char *name, const char *id_text)
{
    char *end;
    unsigned long long id;

    if (id_text[0] < '0' || id_text[0] > '9')
        return NULL;
    id = strtoull(id_text, &end, 10);
    if (*end)
        return NULL;
    for (struct conn *c = srv->conns; c; c = c->next)
        if (!c->closing && c->id == id && strcmp(conn_proxy_name(c), name) == 0)
            return c;
    return NULL;
}

/* The open connections (of proxy `name`, or all), oldest first: the list is newest first. */
static json_t *conns_json(const struct server *srv, const char *name)
{
    json_t *a = json_array();

    for (struct conn *c = srv->conns; c && a; c = c->next)
        if (!c->closing && (!name || strcmp(conn_proxy_name(c), name) == 0))
            json_array_insert_new(a, 0, conn_json(c));
    return a;
}

/* --- answers --- */

static void reply_json(struct admin_response *out, unsigned status, json_t *j)
{
    *out = (struct admin_response){
        .status = status, .content_type = NULL, .body = NULL, .body_len = 0};
    if (!j)
        return;
    out->body = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!out->body) {
        out->status = 500;
        out->body = strdup("{\"error\":\"out of memory\",\"status\":500}");
    }
    out->content_type = "application/json";
    out->body_len = out->body ? strlen(out->body) : 0;
}

static void reply_error(struct admin_response *out, unsigned status, const char *msg)
{
    /* Toxiproxy's error body, as the other routes */
    reply_json(out, status, json_pack("{s:s,s:i}", "error", msg, "status", (int)status));
}

/* The drawn diagram, as the log prints it at the end with log.timeline. */
static void reply_diagram(struct admin_response *out, struct conn *c)
{
    char title[200];
    size_t len = 0;
    FILE *f;

    *out = (struct admin_response){
        .status = 200, .content_type = "text/plain; charset=utf-8", .body = NULL, .body_len = 0};
    f = open_memstream(&out->body, &len);
    if (!f) {
        reply_error(out, 500, "out of memory");
        return;
    }
    snprintf(title, sizeof title, "%s#%llu  client <-> finwait <-> server  (%.3f ms)",
             conn_proxy_name(c), (unsigned long long)c->id, conn_elapsed_ms(c));
    timeline_print(c->tl, f, title);
    fclose(f);
    out->body_len = len;
}

static bool wants_text(const struct admin_request *rq)
{
    return rq->accept && strstr(rq->accept, "text/plain") && !strstr(rq->accept, "json");
}

static void get_conn(struct server *srv, const struct admin_request *rq, struct conn *c,
                     struct admin_response *out)
{
    struct timeval tv;
    json_t *o;

    if (wants_text(rq)) {
        reply_diagram(out, c);
        return;
    }
    gettimeofday(&tv, NULL);
    o = conn_json(c);
    if (o)
        json_object_set_new(o, "timeline",
                            timeline_json(c->tl, conn_proxy_name(c), c->id,
                                          (double)tv.tv_sec + (double)tv.tv_usec / 1e6 -
                                              conn_elapsed_ms(c) / 1000));
    (void)srv;
    reply_json(out, 200, o);
}

/* rst: an RST to both peers at once; fin: a FIN to both after what is in flight. */
static void end_conn(const struct admin_request *rq, struct conn *c, struct admin_response *out)
{
    const char *mode = admin_request_arg(rq, "mode");

    if (!mode || strcmp(mode, "rst") == 0)
        conn_abort(c, "ended by the admin API");
    else if (strcmp(mode, "fin") == 0)
        conn_end(c, "ended by the admin API");
    else {
        reply_error(out, 400, "mode must be rst or fin");
        return;
    }
    *out =
        (struct admin_response){.status = 204, .content_type = NULL, .body = NULL, .body_len = 0};
}

/* The path's segments, split in buf; -1 when it has more than SEGS_MAX or does not fit. */
static int segments(const char *path, char *buf, size_t len, char *seg[SEGS_MAX])
{
    char *save = NULL;
    int n = 0;

    if (strlen(path) >= len || path[0] != '/')
        return -1;
    strcpy(buf, path);
    for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (n == SEGS_MAX)
            return -1;
        seg[n++] = t;
    }
    return n;
}

bool admin_conns_handle(struct server *srv, const struct admin_request *rq,
                        struct admin_response *out)
{
    char buf[1024], *seg[SEGS_MAX];
    int n = segments(rq->path, buf, sizeof buf, seg);
    bool get = strcmp(rq->method, "GET") == 0, del = strcmp(rq->method, "DELETE") == 0;
    struct conn *c;

    if (n == 1 && strcmp(seg[0], "connections") == 0) {
        if (get)
            reply_json(out, 200, conns_json(srv, NULL));
        else
            reply_error(out, 405, "method not allowed on /connections");
        return true;
    }
    if (n < 3 || strcmp(seg[0], "proxies") != 0 || strcmp(seg[2], "connections") != 0)
        return false;
    if (!proxy_known(srv, seg[1])) {
        reply_error(out, 404, "proxy not found");
        return true;
    }
    if (n == 3) {
        if (get)
            reply_json(out, 200, conns_json(srv, seg[1]));
        else
            reply_error(out, 405, "method not allowed on a proxy's connections");
        return true;
    }
    if (!get && !del) {
        reply_error(out, 405, "method not allowed on a connection");
        return true;
    }
    c = find_conn(srv, seg[1], seg[3]);
    if (!c)
        reply_error(out, 404, "connection not found");
    else if (get)
        get_conn(srv, rq, c, out);
    else
        end_conn(rq, c, out);
    return true;
}
