#include "proxy/admin/admin_findings.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/admin/admin_api.h"
#include "proxy/server.h"
#include "proxy/stats.h"
#include "rules/coping.h"
#include "rules/findings.h"
#include "rules/verdict.h"

static json_t *time_or_null(double t)
{
    return t == VF_NONE ? json_null() : json_real(t);
}

/* The connection the latest finding was made on: its legs' FIN and RST times and its bursts
 * (what `finwait report` draws). */
static json_t *facts_json(const struct verdict_facts *f)
{
    json_t *legs = json_object(), *bursts = json_array();
    static const char *const names[2] = {"client", "server"};

    for (int l = 0; l < 2; l++) {
        const struct vf_leg *g = &f->legs[l];
        json_object_set_new(legs, names[l],
                            json_pack("{s:o,s:o,s:o,s:o}", "fin_received_ms",
                                      time_or_null(g->fin_received_ms), "fin_sent_ms",
                                      time_or_null(g->fin_sent_ms), "rst_received_ms",
                                      time_or_null(g->rst_received_ms), "rst_sent_ms",
                                      time_or_null(g->rst_sent_ms)));
    }
    for (unsigned i = 0; i < f->nbursts; i++) {
        const struct vf_burst *b = &f->bursts[i];
        json_array_append_new(bursts, json_pack("{s:s,s:f,s:f,s:I,s:b}", "direction",
                                                b->dir == 0 ? "upstream" : "downstream", "first_ms",
                                                b->first_ms, "last_ms", b->last_ms, "bytes",
                                                (json_int_t)b->bytes, "early", (int)b->early));
    }
    return json_pack("{s:o,s:o,s:i}", "legs", legs, "bursts", bursts, "bursts_dropped",
                     (int)f->dropped);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How the clients of proxy st coped with each of its faults. */
static void coping_json(json_t *list, const struct proxy_stats *st, double now)
{
    struct coping_tally t[COPING_FAULTS];
    size_t n;
    char why[600];

    if (!st->coping)
        return;
    n = coping_tallies(st->coping, now, t, COPING_FAULTS);
    for (size_t i = 0; i < n; i++) {
        json_t *out = json_object();
        uint64_t total = 0;
        for (int o = 0; o < COPE_COUNT; o++) {
            json_t *ex = json_array();
            for (uint64_t k = 0; k < t[i].n[o] && k < 3; k++)
                json_array_append_new(ex, json_integer((json_int_t)t[i].examples[o][k]));
            json_object_set_new(out, coping_outcome_name((enum coping_outcome)o),
                                json_pack("{s:I,s:o,s:f,s:f}", "count", (json_int_t)t[i].n[o],
                                          "connections", ex, "min_ms",
                                          t[i].n[o] ? t[i].min_ms[o] : 0.0, "max_ms",
                                          t[i].n[o] ? t[i].max_ms[o] : 0.0));
            total += t[i].n[o];
        }
        coping_text(&t[i], why, sizeof why);
        json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:o,s:s}", "proxy", st->name, "fault",
                                              t[i].fault, "connections", (json_int_t)total,
                                              "outcomes", out, "why", why));
    }
}

/* How the client of the connection a finding caused by a fault was made on coped. */
static json_t *coped_json(const struct proxy_stats *st, const struct finding_agg *a, double now)
{
    struct coping_rec *r = st->coping && a->last.expected && a->last_conn
                               ? coping_find(st->coping, a->last_conn)
                               : NULL;
    enum coping_outcome o;
    double ms;

    if (!r)
        return json_null();
    o = coping_judge(st->coping, r, now, &ms);
    return json_pack("{s:s,s:f}", "outcome", coping_outcome_name(o), "ms", ms);
}

static json_t *agg_json(const struct proxy_stats *st, enum verdict_kind k, enum verdict_side s,
                        const struct finding_agg *a, double now)
{
    const char *proxy = st->name;
    json_t *ex = json_array(), *ev = json_object();
    const struct finding *x = &a->last;

    for (unsigned i = 0; i < a->nexamples; i++)
        json_array_append_new(ex, json_integer((json_int_t)a->examples[i]));
    for (int i = 0; i < x->nnums; i++)
        json_object_set_new(ev, x->nums[i].key, json_real(x->nums[i].value));
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:I,s:f,s:f,s:o,s:I,s:f,s:o,s:s,s:o,s:o,s:o}", "proxy", proxy, "kind",
        verdict_kind_name(k), "side", verdict_side_name(s), "peer", a->peer, "count",
        (json_int_t)a->count, "first_seen", a->first_s, "last_seen", a->last_s, "connections", ex,
        "last_connection", (json_int_t)a->last_conn, "t_ms", x->t_ms, "evidence", ev, "why", x->why,
        "expected", x->expected ? json_string(x->expected) : json_null(), "coped",
        coped_json(st, a, now), "facts", a->has_facts ? facts_json(&a->facts) : json_null());
}

static void reply(struct admin_response *out, unsigned status, json_t *j)
{
    *out = (struct admin_response){.status = status, .content_type = "application/json"};
    out->body = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!out->body) {
        out->status = 500;
        out->body = strdup("{\"error\":\"out of memory\",\"status\":500}");
    }
    out->body_len = out->body ? strlen(out->body) : 0;
}

static void error(struct admin_response *out, unsigned status, const char *msg)
{
    reply(out, status, json_pack("{s:s,s:i}", "error", msg, "status", (int)status));
}

bool admin_findings_handle(struct server *srv, const struct admin_request *rq,
                           struct admin_response *out)
{
    const char *proxy = admin_request_arg(rq, "proxy");
    const char *kind = admin_request_arg(rq, "kind");
    const char *side = admin_request_arg(rq, "side");
    const char *fin = admin_request_arg(rq, "final");
    bool final = fin && (strcmp(fin, "true") == 0 || strcmp(fin, "1") == 0);
    const char *p = rq->path;
    char name[256];
    enum verdict_kind want_kind = VK_COUNT;
    int want_side = -1;
    json_t *list, *coping;
    bool found = false;
    double now = now_s();

    if (strncmp(p, "/proxies/", 9) == 0) {
        const char *slash = strchr(p + 9, '/');
        if (!slash || strcmp(slash, "/findings") != 0 || (size_t)(slash - p - 9) >= sizeof name)
            return false;
        memcpy(name, p + 9, (size_t)(slash - p - 9));
        name[slash - p - 9] = '\0';
        proxy = name;
    } else if (strcmp(p, "/findings") != 0) {
        return false;
    }
    if (strcmp(rq->method, "GET") != 0) {
        error(out, 405, "method not allowed on findings");
        return true;
    }
    if (kind && !verdict_kind_lookup(kind, &want_kind)) {
        error(out, 400,
              "unknown kind (expected peer_keeps_closed, close_wait_leak, "
              "request_into_closed, answer_lost, half_close_ignored, abandoned, "
              "time_wait_pressure or client_timeout_shorter)");
        return true;
    }
    if (side) {
        if (strcmp(side, "client") == 0)
            want_side = VSIDE_CLIENT;
        else if (strcmp(side, "server") == 0)
            want_side = VSIDE_SERVER;
        else {
            error(out, 400, "unknown side (expected client or server)");
            return true;
        }
    }
    list = json_array();
    coping = json_array();
    for (struct proxy_stats *st = srv->relay.stats; st; st = st->next) {
        if (proxy && strcmp(proxy, st->name) != 0)
            continue;
        found = true;
        if (st->coping)
            st->coping->final = final;
        coping_json(coping, st, now);
        for (int k = 0; k < VK_COUNT; k++)
            for (int s = 0; s < 2; s++)
                for (int e = 0; e < 2; e++) {
                    const struct finding_agg *a = &st->findings.agg[k][s][e];
                    if (!a->count || (want_kind != VK_COUNT && (int)want_kind != k) ||
                        (want_side >= 0 && want_side != s))
                        continue;
                    json_array_append_new(
                        list, agg_json(st, (enum verdict_kind)k, (enum verdict_side)s, a, now));
                }
        if (st->coping)
            st->coping->final = false; /* for this answer only */
    }
    if (proxy && !found) {
        json_decref(list);
        json_decref(coping);
        error(out, 404, "proxy not found");
        return true;
    }
    reply(out, 200, json_pack("{s:o,s:o}", "findings", list, "coping", coping));
    return true;
}
