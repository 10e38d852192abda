/*
 * The exposition: one # HELP and # TYPE per family, then its series, every family's lines
 * together as the format requires. Counters are monotonic across a scrape: the bytes of a
 * connection are its own counters while it is open (it stays on the server's list until it is
 * freed) and its proxy's from the moment it is freed, never both and never neither.
 */
#include "proxy/admin/metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "proxy/fdlimit.h"
#include "proxy/admin/metrics_process.h"
#include "proxy/relay/conn.h"
#include "proxy/relay/listener.h"
#include "proxy/server.h"
#include "proxy/stats.h"

/* A label value as the format wants it: backslash, double quote and newline escaped. */
static void label_value(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", o);
        else if (*s == '"')
            fputs("\\\"", o);
        else if (*s == '\n')
            fputs("\\n", o);
        else
            fputc(*s, o);
    }
    fputc('"', o);
}

static void family(FILE *o, const char *name, const char *type, const char *help)
{
    fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* `name{proxy="P"` without the closing brace: the caller adds labels of its own. */
/* A series whose labels are `proxy` and, after it, names that sort after it: every series
 * lists its label names sorted, as Prometheus' Go client writes them. */
static void series_open(FILE *o, const char *name, const struct proxy_stats *st)
{
    fprintf(o, "%s{proxy=", name);
    label_value(o, st->name);
}

static void series_close(FILE *o, uint64_t v)
{
    fprintf(o, "} %llu\n", (unsigned long long)v);
}

/* One series per proxy and value of a per-leg or per-direction array. */
static void per_proxy_pair(FILE *o, struct proxy_stats *head, const char *name, const char *type,
                           const char *help, const char *label, const char *const names[2],
                           size_t offset)
{
    family(o, name, type, help);
    for (struct proxy_stats *st = head; st; st = st->next) {
        const uint64_t *v = (const uint64_t *)((const char *)st + offset);
        for (int i = 0; i < 2; i++) {
            /* "direction" and "leg" sort before "proxy" */
            fprintf(o, "%s{%s=\"%s\",proxy=", name, label, names[i]);
            label_value(o, st->name);
            series_close(o, v[i]);
        }
    }
}

/* True if c is open with one direction closed (its source sent its FIN) and the other still
 * flowing. */
static bool half_closed(const struct conn *c)
{
    unsigned cl = c->legs[LEG_CLIENT].flags, sv = c->legs[LEG_SERVER].flags;

    if (c->closing || ((cl | sv) & LEG_DEAD))
        return false;
    return !(cl & LEG_FIN_RECEIVED) != !(sv & LEG_FIN_RECEIVED);
}

/* The open connections' share: what they relayed so far, how many are open, half-closed. */
static void scrape_conns(struct server *srv)
{
    for (struct proxy_stats *st = srv->relay.stats; st; st = st->next) {
        st->scrape_open = st->scrape_half_closed = 0;
        for (int d = 0; d < 2; d++) {
            st->scrape_in[d] = st->bytes_in[d];
            st->scrape_out[d] = st->bytes_out[d];
        }
    }
    for (struct conn *c = srv->conns; c; c = c->next) {
        struct proxy_stats *st = c->stats;
        if (!st || !st->registered)
            continue; /* its proxy left the configuration: so did its series */
        for (int d = 0; d < 2; d++) {
            st->scrape_in[d] += c->dirs[d].bytes_in;
            st->scrape_out[d] += c->dirs[d].bytes_out;
        }
        st->scrape_open += !c->closing;
        st->scrape_half_closed += half_closed(c);
    }
}

static const struct proxy_cfg *proxy_named(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nproxies; i++)
        if (strcmp(cfg->proxies[i].name, name) == 0)
            return &cfg->proxies[i];
    return NULL;
}

/*
 * Toxiproxy's two families, with its labels: `listener` is the proxy's `listen` as the API
 * shows it (the bound address when it listens), `upstream` its `upstream`. Toxiproxy adds a
 * connection's bytes when it ends; here they count as they move.
 */
static void toxiproxy_bytes(FILE *o, struct server *srv, const char *name, bool sent)
{
    static const char *const dirs[2] = {"upstream", "downstream"};
    char listen[300], upstream[300];

    family(o, name, "counter",
           sent ? "Bytes written to the destination, per direction (Toxiproxy's)."
                : "Bytes read from the source, per direction (Toxiproxy's).");
    for (struct proxy_stats *st = srv->relay.stats; st; st = st->next) {
        const struct proxy_cfg *p = proxy_named(srv->gen->cfg, st->name);
        const struct listener *l;
        if (!p)
            continue;
        for (l = srv->listeners; l && strcmp(l->p->name, st->name) != 0; l = l->next)
            ;
        if (l)
            snprintf(listen, sizeof listen, "%s", l->addr_text);
        else
            hostport_text(p->listen_host, p->listen_port, listen, sizeof listen);
        hostport_text(p->upstream_host, p->upstream_port, upstream, sizeof upstream);
        for (int d = 0; d < 2; d++) {
            /* label names sorted, as Prometheus' Go client writes them: scripts grep the line */
            fprintf(o, "%s{direction=\"%s\",listener=", name, dirs[d]);
            label_value(o, listen);
            fputs(",proxy=", o);
            label_value(o, st->name);
            fputs(",upstream=", o);
            label_value(o, upstream);
            series_close(o, sent ? st->scrape_out[d] : st->scrape_in[d]);
        }
    }
}

static void proxy_families(FILE *o, struct server *srv)
{
    static const char *const legs[2] = {"client", "server"};
    static const char *const dirs[2] = {"upstream", "downstream"};
    struct proxy_stats *head = srv->relay.stats, *st;

    family(o, "finwait_connections_total", "counter", "Connections accepted.");
    for (st = head; st; st = st->next) {
        series_open(o, "finwait_connections_total", st);
        series_close(o, st->conns_total);
    }
    family(o, "finwait_connections_open", "gauge", "Connections accepted and not closed yet.");
    for (st = head; st; st = st->next) {
        series_open(o, "finwait_connections_open", st);
        series_close(o, st->scrape_open);
    }
    family(o, "finwait_connections_half_closed", "gauge",
           "Open connections with one direction closed by its sender's FIN, the other "
           "still flowing.");
    for (st = head; st; st = st->next) {
        series_open(o, "finwait_connections_half_closed", st);
        series_close(o, st->scrape_half_closed);
    }
    per_proxy_pair(o, head, "finwait_relayed_bytes_total", "counter",
                   "Bytes handed to the destination's kernel, per direction (upstream: client "
                   "to server).",
                   "direction", dirs, offsetof(struct proxy_stats, scrape_out));
    per_proxy_pair(o, head, "finwait_fins_received_total", "counter",
                   "FINs finwait's socket received from the peer of a leg.", "leg", legs,
                   offsetof(struct proxy_stats, fin_received));
    per_proxy_pair(o, head, "finwait_fins_sent_total", "counter",
                   "FINs finwait sent to the peer of a leg.", "leg", legs,
                   offsetof(struct proxy_stats, fin_sent));
    per_proxy_pair(o, head, "finwait_rsts_received_total", "counter",
                   "Resets from the peer of a leg (or a write to it that failed).", "leg", legs,
                   offsetof(struct proxy_stats, rst_received));
    per_proxy_pair(o, head, "finwait_rsts_sent_total", "counter",
                   "Resets finwait sent to the peer of a leg.", "leg", legs,
                   offsetof(struct proxy_stats, rst_sent));

    family(o, "finwait_faults_fired_total", "counter",
           "Connections a fault applied to (its probability and match let it), at accept or "
           "attached to an open connection.");
    for (st = head; st; st = st->next) {
        for (size_t i = 0; i < st->nfaults; i++) {
            fputs("finwait_faults_fired_total{fault=", o);
            label_value(o, st->faults[i].name);
            fputs(",proxy=", o);
            label_value(o, st->name);
            fprintf(o, ",type=\"%s\"", fault_type_name(st->faults[i].type));
            series_close(o, st->faults[i].fired);
        }
    }
    family(o, "finwait_findings_total", "counter",
           "Teardown verdicts made on the proxy's connections, by kind and by the side whose "
           "peer it is about (those a fault of finwait's caused included).");
    for (st = head; st; st = st->next)
        for (int k = 0; k < VK_COUNT; k++)
            for (int s = 0; s < 2; s++) {
                const struct findings *fs = &st->findings;
                uint64_t n = fs->agg[k][s][0].count + fs->agg[k][s][1].count;
                if (!n)
                    continue;
                series_open(o, "finwait_findings_total", st);
                fprintf(o, ",kind=\"%s\",side=\"%s\"", verdict_kind_name((enum verdict_kind)k),
                        verdict_side_name((enum verdict_side)s));
                series_close(o, n);
            }
    family(o, "finwait_upstream_connect_failures_total", "counter",
           "Connections to the upstream that failed, by reason.");
    for (st = head; st; st = st->next) {
        for (int r = 0; r < UPSTREAM_FAILURE_COUNT; r++) {
            series_open(o, "finwait_upstream_connect_failures_total", st);
            fprintf(o, ",reason=\"%s\"", upstream_failure_name((enum upstream_failure)r));
            series_close(o, st->upstream_failures[r]);
        }
    }
    family(o, "finwait_accept_failures_total", "counter",
           "Client connections finwait could not serve, by reason: accepted and closed at once "
           "because no descriptor was free (emfile: the process's limit, enfile: the system's), "
           "or not accepted (other).");
    for (st = head; st; st = st->next) {
        for (int r = 0; r < ACCEPT_FAILURE_COUNT; r++) {
            series_open(o, "finwait_accept_failures_total", st);
            fprintf(o, ",reason=\"%s\"", accept_failure_name((enum accept_failure)r));
            series_close(o, st->accept_failures[r]);
        }
    }
}

static void process_families(FILE *o)
{
    static const char *const sources[2] = {"file", "api"};
    const struct process_stats *ps = &stats_process;

    family(o, "finwait_packet_verdicts_total", "counter",
           "Segments of faulted flows the packet engine let pass or dropped.");
    fprintf(o, "finwait_packet_verdicts_total{verdict=\"accept\"} %llu\n",
            (unsigned long long)ps->packet_verdicts[0]);
    fprintf(o, "finwait_packet_verdicts_total{verdict=\"drop\"} %llu\n",
            (unsigned long long)ps->packet_verdicts[1]);
    family(o, "finwait_reloads_total", "counter",
           "Configuration reloads, from the file (SIGHUP, a change) or the admin API, by result.");
    for (int s = 0; s < 2; s++)
        for (int r = 0; r < 2; r++)
            fprintf(o, "finwait_reloads_total{result=\"%s\",source=\"%s\"} %llu\n",
                    r ? "failed" : "ok", sources[s], (unsigned long long)ps->reloads[s][r]);
    family(o, "finwait_admin_requests_total", "counter",
           "Admin API requests answered, by HTTP status.");
    for (unsigned code = 0; code < sizeof ps->admin_requests / sizeof ps->admin_requests[0]; code++)
        if (ps->admin_requests[code])
            fprintf(o, "finwait_admin_requests_total{code=\"%u\"} %llu\n", code,
                    (unsigned long long)ps->admin_requests[code]);
    family(o, "finwait_admin_accept_failures_total", "counter",
           "Accepts of the admin API that failed, by reason; emfile and enfile (no descriptor "
           "free) are retried on a timer while the client waits.");
    for (int r = 0; r < ACCEPT_FAILURE_COUNT; r++)
        fprintf(o, "finwait_admin_accept_failures_total{reason=\"%s\"} %llu\n",
                accept_failure_name((enum accept_failure)r),
                (unsigned long long)ps->admin_accept_failures[r]);
    family(o, "finwait_build_info", "gauge", "finwait's version, as a label; always 1.");
    fprintf(o, "finwait_build_info{version=\"%s\"} 1\n", FINWAIT_VERSION);
}

/* The descriptor limit, under the name Prometheus' process collectors give it: with
 * finwait_accept_failures_total it tells whether refused connections were the limit's doing. */
static void process_max_fds(FILE *o)
{
    family(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    fprintf(o, "process_max_fds %llu\n", (unsigned long long)fd_limit_soft());
}

int metrics_render(struct server *srv, char **body, size_t *len)
{
    FILE *o;

    *body = NULL;
    *len = 0;
    o = open_memstream(body, len);
    if (!o)
        return UV_ENOMEM;
    scrape_conns(srv);
    proxy_families(o, srv);
    toxiproxy_bytes(o, srv, "toxiproxy_proxy_received_bytes_total", false);
    toxiproxy_bytes(o, srv, "toxiproxy_proxy_sent_bytes_total", true);
    process_families(o);
    /* with -runtime-metrics, the process collector's series (process_max_fds among them);
     * without, process_max_fds alone: the descriptor limit is finwait's capacity */
    if (srv->ov && srv->ov->runtime_metrics)
        metrics_process(o);
    else
        process_max_fds(o);
    if (ferror(o) | fclose(o)) {
        free(*body);
        *body = NULL;
        *len = 0;
        return UV_ENOMEM;
    }
    return 0;
}
