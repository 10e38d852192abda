#include "proxy/admin/admin_findings.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/admin/admin_api.h"
#include "proxy/server.h"
#include "proxy/stats.h"
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
        json_array_append_new(bursts, json_pack("{s:s,s:f,s:f,s:I}", "direction",
                                                b->dir == 0 ? "upstream" : "downstream", "first_ms",
                                                b->first_ms, "last_ms", b->last_ms, "bytes",
                                                (json_int_t)b->bytes));
    }
    return json_pack("{s:o,s:o,s:i}", "legs", legs, "bursts", bursts, "bursts_dropped",
                     (int)f->dropped);
}

static json_t *agg_json(const char *proxy, enum verdict_kind k, enum verdict_side s,
                        const struct finding_agg *a)
{
    json_t *ex = json_array(), *ev = json_object();
    const struct finding *x = &a->last;

    for (unsigned i = 0; i < a->nexamples; i++)
        json_array_append_new(ex, json_integer((json_int_t)a->examples[i]));
    for (int i = 0; i < x->nnums; i++)
        json_object_set_new(ev, x->nums[i].key, json_real(x->nums[i].value));
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:f,s:f,s:o,s:I,s:f,s:o,s:s,s:o,s:o}", "proxy", proxy,
                     "kind", verdict_kind_name(k), "side", verdict_side_name(s), "peer", a->peer,
                     "count", (json_int_t)a->count, "first_seen", a->first_s, "last_seen",
                     a->last_s, "connections", ex, "last_connection", (json_int_t)a->last_conn,
                     "t_ms", x->t_ms, "evidence", ev, "why", x->why, "expected",
                     x->expected ? json_string(x->expected) : json_null(), "facts",
                     a->has_facts ? facts_json(&a->facts) : json_null());
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
    const char *p = rq->path;
    char name[256];
    enum verdict_kind want_kind = VK_COUNT;
    int want_side = -1;
    json_t *list;
    bool found = false;

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
    for (struct proxy_stats *st = srv->relay.stats; st; st = st->next) {
        if (proxy && strcmp(proxy, st->name) != 0)
            continue;
        found = true;
        for (int k = 0; k < VK_COUNT; k++)
            for (int s = 0; s < 2; s++)
                for (int e = 0; e < 2; e++) {
                    const struct finding_agg *a = &st->findings.agg[k][s][e];
                    if (!a->count || (want_kind != VK_COUNT && (int)want_kind != k) ||
                        (want_side >= 0 && want_side != s))
                        continue;
                    json_array_append_new(
                        list, agg_json(st->name, (enum verdict_kind)k, (enum verdict_side)s, a));
                }
    }
    if (proxy && !found) {
        json_decref(list);
        error(out, 404, "proxy not found");
        return true;
    }
    reply(out, 200, json_pack("{s:o}", "findings", list));
    return true;
}
