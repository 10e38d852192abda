/*
 * Teardown verdicts on the relay (facts.h): the per-connection record that rules/verdict.h
 * judges, fed by one call per relay event, and the filing of findings.
 */
#include "proxy/relay/facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/log.h"
#include "proxy/relay/conn.h"
#include "proxy/relay/listener.h"
#include "proxy/relay/tcpinfo.h"
#include "proxy/relay/timeline.h"
#include "proxy/stats.h"
#include "rules/coping.h"
#include "rules/findings.h"
#include "rules/verdict.h"

/* Clients whose TIME_WAIT rate a proxy follows at once; past this the stalest is forgotten. */
#define TW_CLIENTS 64

struct tw_client {
    char addr[64]; /* the client's address without its port */
    struct verdict_rate rate;
};

static const struct verdict_cfg *vcfg(const struct conn *c)
{
    return &c->p->verdicts;
}

static double wall_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The address of `side`'s peer: the client's as accepted, the server's as configured. */
static void peer_text(const struct conn *c, enum verdict_side side, char *buf, size_t len)
{
    if (side == VSIDE_CLIENT)
        sockaddr_text((const struct sockaddr *)&c->client, buf, len);
    else
        hostport_text(c->p->upstream_host, c->p->upstream_port, buf, len);
}

/* The client's address without its port: connections of one client from many ports. */
static void client_host(const struct conn *c, char *buf, size_t len)
{
    char *colon;

    sockaddr_text((const struct sockaddr *)&c->client, buf, len);
    colon = strrchr(buf, ':');
    if (colon && colon != buf)
        *colon = '\0';
}

/* File finding x about c (conn_id 0: about many of the proxy's connections, c one of them). */
static void file(struct conn *c, const struct finding *x, uint64_t conn_id)
{
    char peer[80], text[600], nums[VERDICT_NUMS][32];
    struct log_kv kv[4 + VERDICT_NUMS];
    int nkv = 0;
    double t = conn_elapsed_ms(c);

    peer_text(c, x->side, peer, sizeof peer);
    findings_add(&c->stats->findings, x, conn_id, conn_id ? c->vf : NULL, peer, wall_s());
    kv[nkv++] = (struct log_kv){"kind", verdict_kind_name(x->kind), 0};
    kv[nkv++] = (struct log_kv){"side", verdict_side_name(x->side), 0};
    kv[nkv++] = (struct log_kv){"peer", peer, 0};
    if (x->expected)
        kv[nkv++] = (struct log_kv){"expected", x->expected, 0};
    for (int i = 0; i < x->nnums; i++) {
        snprintf(nums[i], sizeof nums[i], "%.3f", x->nums[i].value);
        kv[nkv++] = (struct log_kv){x->nums[i].key, nums[i], 0};
    }
    if (x->expected)
        snprintf(text, sizeof text, "finding %s (expected: fault %s acted): %s",
                 verdict_kind_name(x->kind), x->expected, x->why);
    else
        snprintf(text, sizeof text, "finding %s: %s", verdict_kind_name(x->kind), x->why);
    /* the application's findings are warnings; those a fault of finwait's caused are not */
    enum log_level lvl = x->expected ? LOG_LEVEL_INFO : LOG_LEVEL_WARN;
    if (LOG_ENABLED(lvl))
        log__conn(lvl, conn_proxy_name(c), c->id, t, "finding", verdict_side_name(x->side), NULL,
                  text, kv, nkv);
    if (c->tl && conn_id)
        timeline_add_event(&c->tl, t, TL_NOTE, x->side == VSIDE_CLIENT ? LEG_CLIENT : LEG_SERVER,
                           false, 0, NULL, text, "finding", kv, nkv);
}

/* The proxy's record of how clients coped with its faults, its thresholds the proxy's
 * current ones; NULL until a fault acts (or out of memory). */
static struct coping *coping_of(struct conn *c)
{
    struct coping *cp = c->stats->coping;

    if (!cp)
        return NULL;
    cp->retry_within_s = (double)vcfg(c)->retry_within_ms / 1e3;
    cp->hung_after_s = (double)vcfg(c)->hung_after_ms / 1e3;
    return cp;
}

/* Wall-clock seconds of t_ms on c's clock. */
static double wall_at(const struct conn *c, double t_ms)
{
    return wall_s() - (conn_elapsed_ms(c) - t_ms) / 1e3;
}

/* What c's client did after the fault on its coping record: its last byte, its close. */
static void coping_update(struct conn *c, bool ended)
{
    struct coping *cp = coping_of(c);
    struct coping_rec *r = cp && c->vf->fault[0] ? coping_find(cp, c->id) : NULL;
    const struct vf_leg *cl = &c->vf->legs[LEG_CLIENT];
    /* the first of the client's FIN, its RST, finwait's RST to it */
    const double closes[] = {cl->fin_received_ms, cl->rst_received_ms, cl->rst_sent_ms};
    double close_ms = VF_NONE;

    if (!r)
        return;
    if (c->vf->last_data_ms[DIR_UPSTREAM] != VF_NONE) {
        double t = wall_at(c, c->vf->last_data_ms[DIR_UPSTREAM]);
        if (t > r->fault_s)
            r->active_s = t;
    }
    for (size_t i = 0; i < sizeof closes / sizeof closes[0]; i++)
        if (closes[i] != VF_NONE && (close_ms == VF_NONE || closes[i] < close_ms))
            close_ms = closes[i];
    if (r->closed_s == COPE_NONE && close_ms != VF_NONE)
        r->closed_s = wall_at(c, close_ms);
    if (ended && r->closed_s == COPE_NONE)
        r->closed_s = wall_s(); /* over without a close of its own: it is closed now */
}

static void judge(struct conn *c, bool ended)
{
    struct finding v[VK_COUNT];
    int n;

    if (!c->vf)
        return;
    n = verdict_judge(vcfg(c), c->vf, conn_elapsed_ms(c), ended, v, VK_COUNT);
    for (int i = 0; i < n; i++) {
        c->vf->reported |= 1u << v[i].kind;
        file(c, &v[i], c->id);
    }
}

void facts_start(struct conn *c)
{
    const struct verdict_cfg *vc = vcfg(c);
    bool any = false;

    for (int k = 0; k < VK_COUNT; k++)
        any = any || vc->on[k];
    if (!any)
        return;
    c->vf = malloc(sizeof *c->vf);
    if (c->vf)
        verdict_facts_init(c->vf);
}

void facts_accepted(struct conn *c)
{
    char host[64];

    if (!c->vf || !c->stats->coping)
        return;
    client_host(c, host, sizeof host);
    coping_accept(coping_of(c), c->id, host, wall_s());
}

void facts_leg(struct conn *c, enum leg_id l, unsigned f)
{
    static const char *const names[] = {
        [0] = "fin_received", [2] = "fin_sent", [3] = "rst_received", [4] = "rst_sent"};
    int bit = __builtin_ctz(f);

    if (!c->vf || f == LEG_SHUT_PENDING || bit > 4 || !names[bit])
        return;
    verdict_facts_leg_event(c->vf, l, names[bit], conn_elapsed_ms(c));
    if (l == LEG_CLIENT)
        coping_update(c, false);
    judge(c, false);
}

/*
 * The first read of an answer (the latest burst went upstream): were the client's bytes still
 * on their way to the server, unacknowledged by its kernel or unread by finwait? A server that
 * read its request whole before answering has acknowledged all of it, and its client, waiting
 * for the answer, sends nothing meanwhile. Two ioctls per answer, none per byte.
 */
void facts_server_read(struct conn *c)
{
    struct verdict_facts *f = c->vf;

    if (!f || f->early_pending || !f->nbursts || f->bursts[f->nbursts - 1].dir != DIR_UPSTREAM)
        return;
    /* a closed leg's -1 makes both negative: nothing is on its way there */
    if (tcpinfo_outq(conn_leg_fd(c, LEG_SERVER)) > 0 || tcpinfo_inq(conn_leg_fd(c, LEG_CLIENT)) > 0)
        verdict_facts_early(f);
}

void facts_data(struct conn *c, enum dir d, size_t len, double t_ms)
{
    if (c->vf)
        verdict_facts_data(c->vf, d, len, t_ms);
}

void facts_undelivered(struct conn *c, enum dir d, size_t len)
{
    if (c->vf)
        verdict_facts_undelivered(c->vf, d, len, conn_elapsed_ms(c));
}

void facts_fault(struct conn *c, const char *fault_name)
{
    char host[64];

    if (!c->vf)
        return;
    verdict_facts_fault(c->vf, fault_name, conn_elapsed_ms(c));
    if (!c->stats->coping)
        c->stats->coping = calloc(1, sizeof *c->stats->coping);
    if (!coping_of(c))
        return;
    client_host(c, host, sizeof host);
    coping_fault(c->stats->coping, c->id, host, fault_name, wall_s());
    coping_update(c, false);
}

/* c's client closed first: one more TIME_WAIT socket on it. */
static void time_wait_count(struct conn *c)
{
    struct proxy_stats *st = c->stats;
    struct tw_client *tw = st->tw_clients, *slot = NULL;
    struct finding x;
    char host[64];
    double now = mono_ms();

    client_host(c, host, sizeof host);
    if (!tw) {
        tw = st->tw_clients = calloc(TW_CLIENTS, sizeof *tw);
        if (!tw)
            return;
    }
    for (size_t i = 0; i < TW_CLIENTS && !slot; i++)
        if (strcmp(tw[i].addr, host) == 0)
            slot = &tw[i];
    for (size_t i = 0; i < TW_CLIENTS && !slot; i++)
        if (!tw[i].addr[0])
            slot = &tw[i];
    if (!slot) {
        slot = &tw[0];
        for (size_t i = 1; i < TW_CLIENTS; i++)
            if (tw[i].rate.window_start_ms < slot->rate.window_start_ms)
                slot = &tw[i];
        memset(slot, 0, sizeof *slot);
    }
    if (!slot->addr[0])
        snprintf(slot->addr, sizeof slot->addr, "%s", host);
    if (verdict_rate_add(vcfg(c), &slot->rate, now, &x))
        file(c, &x, 0);
}

void facts_end(struct conn *c)
{
    const struct vf_leg *cl;

    if (!c->vf)
        return;
    judge(c, true);
    coping_update(c, true);
    cl = &c->vf->legs[LEG_CLIENT];
    if (cl->fin_received_ms != VF_NONE &&
        (cl->fin_sent_ms == VF_NONE || cl->fin_received_ms <= cl->fin_sent_ms) &&
        cl->rst_received_ms == VF_NONE && cl->rst_sent_ms == VF_NONE)
        time_wait_count(c);
    free(c->vf);
    c->vf = NULL;
}

unsigned facts_found(const struct conn *c)
{
    return c->vf ? c->vf->reported : 0;
}

/* Idle since the last byte either way, on c's clock. */
static double idle_ms(const struct conn *c, double now)
{
    double last = 0;

    for (int d = 0; d < 2; d++)
        if (c->vf->last_data_ms[d] > last)
            last = c->vf->last_data_ms[d];
    return now - last;
}

static bool established(const struct conn *c)
{
    return c->connected && !c->closing && c->legs[LEG_CLIENT].flags == 0 &&
           c->legs[LEG_SERVER].flags == 0;
}

/* The abandoned detector over the open connections of one proxy (its stats). */
static void sweep_abandoned(struct conn *list, struct proxy_stats *st)
{
    struct verdict_open *open;
    struct conn **who;
    char(*hosts)[64];
    struct finding x[8];
    size_t ix[8], n = 0, cap = 0;
    struct conn *any = NULL;
    int nf;

    for (struct conn *c = list; c; c = c->next)
        if (c->stats == st && c->vf && established(c)) {
            cap++;
            any = c;
        }
    if (!any || cap < vcfg(any)->abandoned_count || !vcfg(any)->on[VK_ABANDONED])
        return;
    open = calloc(cap, sizeof *open);
    who = calloc(cap, sizeof *who);
    hosts = calloc(cap, sizeof *hosts);
    if (!open || !who || !hosts)
        goto out;
    for (struct conn *c = list; c && n < cap; c = c->next) {
        if (c->stats != st || !c->vf || !established(c))
            continue;
        client_host(c, hosts[n], sizeof hosts[n]);
        open[n] = (struct verdict_open){hosts[n], idle_ms(c, conn_elapsed_ms(c)), true};
        who[n++] = c;
    }
    nf = verdict_judge_abandoned(vcfg(any), open, n, x, ix, 8);
    for (int i = 0; i < nf; i++) {
        /* once per client and connection set: the finding's example is the one that made it */
        struct conn *c = who[ix[i]];
        if (c->vf->reported & (1u << VK_ABANDONED))
            continue;
        for (size_t j = 0; j < n; j++)
            if (strcmp(hosts[j], hosts[ix[i]]) == 0 &&
                open[j].idle_ms >= (double)vcfg(any)->abandoned_ms)
                who[j]->vf->reported |= 1u << VK_ABANDONED;
        file(c, &x[i], c->id);
    }
out:
    free(open);
    free(who);
    free(hosts);
}

void facts_sweep(struct conn *list)
{
    struct proxy_stats *seen[64];
    size_t nseen = 0;

    for (struct conn *c = list; c; c = c->next) {
        size_t i;
        if (!c->vf || c->closing)
            continue;
        judge(c, false);
        coping_update(c, false);
        for (i = 0; i < nseen && seen[i] != c->stats; i++)
            ;
        if (i == nseen && nseen < sizeof seen / sizeof seen[0])
            seen[nseen++] = c->stats;
    }
    for (size_t i = 0; i < nseen; i++)
        sweep_abandoned(list, seen[i]);
}
