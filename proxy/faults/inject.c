/*
 * Faults in action. Each fault type is a small ops table; the relay calls the hooks of every
 * fault that applies to a connection, in configuration order. rules/ already rejected the
 * combinations that make no sense (two faults deciding the same FIN), so at most one fault
 * takes over a given FIN, while data faults compose: a blackhole drops before a latency
 * delays, latency then bandwidth then slicer shape the bytes in the order configured.
 *
 * This file is the dispatcher: the per-connection list of faults, the hooks the relay calls,
 * attach and detach. The fault families have files of their own (inject_teardown.c,
 * inject_end.c, inject_shape.c, inject_packet.c).
 */
#include "proxy/faults/inject.h"

#include <assert.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/relay/bufpool.h"
#include "proxy/relay/conn.h"
#include "proxy/faults/inject-t.h"
#include "proxy/relay/listener.h"
#include "proxy/log.h"
#include "proxy/faults/packet.h"
#include "proxy/relay/relay.h"
#include "proxy/stats.h"
#include "proxy/relay/timeline.h"
#include "rules/fault.h"
#include "rules/plan.h"

static void on_rt_timer(uv_timer_t *t);

void inject__timer_start(struct fault_rt *ft, int i, uint64_t ms)
{
    if (!ft->timer_open[i]) {
        uv_timer_init(ft->c->legs[LEG_CLIENT].tcp.loop, &ft->timer[i]);
        ft->timer[i].data = ft;
        ft->timer_open[i] = true;
    }
    uv_timer_start(&ft->timer[i], on_rt_timer, ms, 0);
}

static void on_rt_timer(uv_timer_t *t)
{
    struct fault_rt *ft = t->data;
    int i = t == &ft->timer[0] ? 0 : 1;

    if (ft->c->closing || ft->detached)
        return;
    ft->ops->on_timer(ft, i);
}

/* --- the table and the hooks --- */

static void noop_describe(const struct fault_rt *ft, char *buf, size_t len)
{
    (void)ft;
    snprintf(buf, len, "does nothing (noop)");
}

/* Toxiproxy's `noop`: attached like any toxic, it touches nothing and says so. */
static const struct fault_ops noop_ops = {.describe = noop_describe};

static const struct fault_ops *const ops_by_type[FAULT_TYPE_COUNT] = {
    [FAULT_DELAY_FIN] = &inject__delay_fin_ops,
    [FAULT_SLOW_CLOSE] = &inject__delay_fin_ops,
    [FAULT_RST_INSTEAD_OF_FIN] = &inject__rst_fin_ops,
    [FAULT_BREAK_HALF_CLOSE] = &inject__break_hc_ops,
    [FAULT_RESET] = &inject__end_ops,
    [FAULT_CLOSE] = &inject__end_ops,
    [FAULT_RESET_PEER] = &inject__end_ops,
    [FAULT_LIMIT_DATA] = &inject__end_ops,
    [FAULT_BLACKHOLE] = &inject__silence_ops,
    [FAULT_TIMEOUT] = &inject__silence_ops,
    [FAULT_REFUSE] = &inject__refuse_ops,
    [FAULT_LATENCY] = &inject__latency_ops,
    [FAULT_BANDWIDTH] = &inject__bandwidth_ops,
    [FAULT_SLICER] = &inject__slicer_ops,
    [FAULT_NOOP] = &noop_ops,
    [FAULT_DROP_FINAL_ACK] = &inject__packet_ops,
    [FAULT_DROP_FIN] = &inject__packet_ops,
};

static void rt_free(struct fault_rt *ft)
{
    cfg_gen_unref(ft->gen);
    free(ft);
}

static int shaper_open(struct conn *c, enum dir d)
{
    struct inject *inj = c->inj;

    if (inj->shape[d])
        return 0;
    inj->shape[d] = calloc(1, sizeof *inj->shape[d]);
    if (!inj->shape[d])
        return UV_ENOMEM;
    uv_timer_init(c->timer.loop, &inj->shape[d]->timer);
    inj->shape[d]->timer.data = c;
    return 0;
}

/* The shaping queues a shaping fault needs (a reload may widen its direction). */
static int rt_shapers(struct fault_rt *ft)
{
    for (int d = 0; d < 2; d++)
        if (ft->ops->shape && applies(ft->f, (enum dir)d) && shaper_open(ft->c, (enum dir)d) < 0)
            return UV_ENOMEM;
    return 0;
}

/* Append fault f (of generation gen) to c's faults. NULL when out of memory. */
static struct fault_rt *rt_add(struct conn *c, const struct fault *f, struct cfg_gen *gen)
{
    struct fault_rt *ft = calloc(1, sizeof *ft), **tail;

    if (!ft)
        return NULL;
    ft->f = f;
    ft->ops = ops_by_type[f->type];
    ft->c = c;
    ft->gen = cfg_gen_ref(gen);
    if (rt_shapers(ft) < 0) {
        rt_free(ft);
        return NULL;
    }
    for (tail = &c->inj->head; *tail; tail = &(*tail)->next)
        ;
    *tail = ft;
    return ft;
}

static struct inject *inject_alloc(struct conn *c)
{
    if (!c->inj) {
        c->inj = calloc(1, sizeof *c->inj);
        if (c->inj)
            c->inj->c = c;
    }
    return c->inj;
}

/*
 * At debug level, one line per connection and fault that does not apply, with the reason: a
 * connection no fault reaches is otherwise silent, and a `match` that cannot be met (a
 * loopback test against `client: 10.0.0.0/8`) looks like a fault that does nothing.
 */
static void log_not_applied(struct conn *c, const struct fault *f, const char *why)
{
    struct log_kv kv[] = {{"fault", f->name, 0}, {"type", fault_type_name(f->type), 0}};
    char text[512];

    if (!LOG_ENABLED(LOG_LEVEL_DEBUG))
        return;
    snprintf(text, sizeof text, "fault %s not applied: %s", f->name, why);
    log__conn(LOG_LEVEL_DEBUG, conn_proxy_name(c), c->id, conn_elapsed_ms(c), "fault_not_applied",
              NULL, NULL, text, kv, 2);
}

/* The original destination of an intercepted connection, for `match: {destination}`; NULL for
 * an addressed one. */
static const struct sockaddr *conn_dest(const struct conn *c)
{
    return c->intercepted ? (const struct sockaddr *)&c->orig_dst : NULL;
}

/* What fault_decide_why() found against f, for people. */
static void log_decision(struct conn *c, const struct fault *f, const struct fault_decision *d)
{
    char why[400];

    if (LOG_ENABLED(LOG_LEVEL_DEBUG))
        log_not_applied(c, f,
                        fault_decision_text_at(f, d, (const struct sockaddr *)&c->client,
                                               conn_dest(c), why, sizeof why));
}

uint64_t inject_decide(struct conn *c)
{
    const struct proxy_cfg *p = c->p;
    struct fault_decision why[FAULTS_MAX];
    uint64_t mask =
        fault_decide_at(p, &c->l->rng, (const struct sockaddr *)&c->client, conn_dest(c), why);

    for (size_t i = 0; i < p->nfaults && i < FAULTS_MAX; i++) {
        if (mask & (1ull << i))
            stats_fault_fired(c->stats, &p->faults[i]);
        else
            log_decision(c, &p->faults[i], &why[i]);
    }
    return mask;
}

int inject_new(struct conn *c, uint64_t mask)
{
    const struct proxy_cfg *p = c->p;

    if (!inject_alloc(c))
        return UV_ENOMEM;
    for (size_t i = 0; i < p->nfaults && i < FAULTS_MAX; i++)
        if ((mask & (1ull << i)) && !rt_add(c, &p->faults[i], c->gen))
            return UV_ENOMEM;
    return 0;
}

bool inject_on_accept(struct conn *c)
{
    for (struct fault_rt *ft = c->inj->head; ft && !c->closing; ft = ft->next)
        if (ft->ops->on_accept && ft->ops->on_accept(ft))
            return true;
    return c->closing;
}

bool inject_on_socket(struct conn *c, enum leg_id l, int fd, const struct sockaddr *peer)
{
    struct packet_engine *pe = c->l->rc->pe;
    uint32_t mark;

    if (!pe)
        return false;
    for (struct fault_rt *ft = c->inj->head; ft; ft = ft->next) {
        const struct fault *f = ft->f;
        if (!fault_type_is_packet(f->type) || inject__packet_leg(f) != l)
            continue;
        mark = packet_engine_mark(pe);
        if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0)
            LOG(LOG_LEVEL_WARN, conn_proxy_name(c), "packet", "#%llu: SO_MARK on the %s leg: %m",
                (unsigned long long)c->id, leg_name(l));
        inject__packet_register(ft, l, fd, peer);
        return true;
    }
    return false;
}

void inject_on_connected(struct conn *c)
{
    for (struct fault_rt *ft = c->inj->head; ft && !c->closing; ft = ft->next)
        if (ft->ops->on_connected)
            ft->ops->on_connected(ft);
}

bool inject_on_data(struct conn *c, enum dir d, struct buf *b, size_t len)
{
    struct inject *inj = c->inj;

    for (struct fault_rt *ft = inj->head; ft; ft = ft->next) {
        if (ft->ops->on_data && ft->ops->on_data(ft, d, b, len))
            return true;
        if (c->closing) {
            buf_unref(b);
            return true;
        }
    }
    if (!inject__shaper_needed(inj, d))
        return false;
    inject__shaper_push(c, d, b, len, NULL);
    return true;
}

/* The FIN of d has come out of the shaping queue (or there was none): the FIN faults. */
void inject__fin_after_shaping(struct conn *c, enum dir d)
{
    for (struct fault_rt *ft = c->inj->head; ft; ft = ft->next) {
        if (ft->ops->on_fin && ft->ops->on_fin(ft, d)) {
            conn__maybe_finish(c);
            return;
        }
    }
    conn__relay_fin(c, d);
}

bool inject_on_fin(struct conn *c, enum dir d)
{
    if (inject__shaper_needed(c->inj, d))
        inject__shaper_push(c, d, NULL, 0, NULL);
    else
        inject__fin_after_shaping(c, d);
    return true;
}

bool inject_busy(const struct conn *c, enum dir d)
{
    return c->inj && (c->inj->head || inject__shaper_needed(c->inj, d));
}

static void on_shaper_closed(uv_handle_t *h)
{
    conn__release(h->data);
}

static void on_rt_timer_closed(uv_handle_t *h)
{
    struct fault_rt *ft = h->data;
    struct conn *c = ft->c;

    if (--ft->timers_closing == 0 && ft->detached)
        rt_free(ft);
    conn__release(c);
}

static void rt_close_timers(struct fault_rt *ft)
{
    for (int t = 0; t < 2; t++) {
        if (!ft->timer_open[t])
            continue;
        ft->timer_open[t] = false;
        ft->timers_closing++;
        conn__hold(ft->c);
        uv_close((uv_handle_t *)&ft->timer[t], on_rt_timer_closed);
    }
}

/* --- attach and detach on an open connection (a reload changed the proxy's faults) --- */

/*
 * f reaches open connection c. Any fault moves c off the splice path first (what is in the
 * pipe is written before anything else), so that no fault has to know about pipes; c goes
 * back to splicing once no fault is left. Timers and byte counts start now.
 */
static void rt_attach(struct conn *c, const struct fault *f, struct cfg_gen *gen)
{
    struct fault_rt *ft = rt_add(c, f, gen);

    if (!ft) {
        conn_abort(c, "out of memory");
        return;
    }
    stats_fault_fired(c->stats, f);
    conn__fault_note(c, f->name, LEG_CLIENT, "added to this open connection");
    /* a packet fault judges segments in the kernel's queue: the bytes may stay spliced */
    for (int d = 0; d < 2 && !c->closing && !fault_type_is_packet(f->type); d++)
        conn__unsplice(c, (enum dir)d);
    if (!c->closing && ft->ops->on_accept)
        ft->ops->on_accept(ft);
    if (!c->closing && c->connected && ft->ops->on_connected)
        ft->ops->on_connected(ft);
    if (!c->closing && ft->ops->on_attach)
        ft->ops->on_attach(ft);
}

/* ft leaves c: off the list at once, freed once its timers have closed. */
static void rt_detach(struct fault_rt *ft)
{
    struct conn *c = ft->c;
    struct fault_rt **pp;

    for (pp = &c->inj->head; *pp != ft; pp = &(*pp)->next)
        ;
    *pp = ft->next;
    ft->next = NULL;
    ft->detached = true;
    if (!c->closing) {
        conn__fault_note(c, ft->f->name, LEG_CLIENT, "removed from this open connection");
        if (ft->ops->on_detach)
            ft->ops->on_detach(ft);
    }
    rt_close_timers(ft);
    if (ft->timers_closing == 0)
        rt_free(ft);
}

/* ft now follows f of generation gen (same name, same type). */
static int rt_move(struct fault_rt *ft, const struct fault *f, struct cfg_gen *gen)
{
    ft->f = f;
    cfg_gen_ref(gen);
    cfg_gen_unref(ft->gen);
    ft->gen = gen;
    return rt_shapers(ft);
}

static struct fault_rt *rt_find(struct inject *inj, const struct fault *f)
{
    for (struct fault_rt *ft = inj ? inj->head : NULL; ft; ft = ft->next)
        if (ft->f == f)
            return ft;
    return NULL;
}

/* f is added or changed: does it reach c? One draw from the proxy's generator. `refuse`
 * concerns accepts: it reaches new connections only; a packet fault, legs whose close has
 * not started. */
static void rt_maybe_attach(struct conn *c, const struct fault *f, struct cfg_gen *gen)
{
    struct fault_decision d;
    const char *why = NULL;

    if (f->type == FAULT_REFUSE)
        why = "refuse acts on accepts: it reaches new connections only";
    else if (fault_type_is_packet(f->type))
        why = inject__packet_unreachable(c, f);
    if (why) {
        log_not_applied(c, f, why);
        return;
    }
    if (!fault_decide_one_at(f, &c->l->rng, (const struct sockaddr *)&c->client, conn_dest(c),
                             &d)) {
        log_decision(c, f, &d);
        return;
    }
    rt_attach(c, f, gen);
}

/* Position of ft's fault in p, or -1 (a packet fault of an older generation: first). */
static long rt_position(const struct fault_rt *ft, const struct proxy_cfg *p)
{
    for (size_t i = 0; i < p->nfaults; i++)
        if (ft->f == &p->faults[i])
            return (long)i;
    return -1;
}

/* Put c's faults back in the configuration order of p: data faults compose in that order. */
static void rt_sort(struct inject *inj, const struct proxy_cfg *p)
{
    struct fault_rt *sorted = NULL, *ft, *next, **pp;

    for (ft = inj->head; ft; ft = next) {
        next = ft->next;
        for (pp = &sorted; *pp && rt_position(*pp, p) <= rt_position(ft, p); pp = &(*pp)->next)
            ;
        ft->next = *pp;
        *pp = ft;
    }
    inj->head = sorted;
}

void inject_reload(struct conn *c, struct cfg_gen *gen, const struct proxy_cfg *np,
                   const struct plan_fault *steps, size_t n)
{
    const struct proxy_cfg *op = c->p;

    if (c->closing)
        return;
    if (!inject_alloc(c)) {
        conn_abort(c, "out of memory");
        return;
    }
    for (size_t k = 0; k < n && !c->closing; k++) {
        const struct plan_fault *pf = &steps[k];
        const struct fault *of = pf->old_fault != PLAN_NONE ? &op->faults[pf->old_fault] : NULL;
        const struct fault *nf = pf->new_fault != PLAN_NONE ? &np->faults[pf->new_fault] : NULL;
        struct fault_rt *ft = of ? rt_find(c->inj, of) : NULL;

        /* `connections: new` on the fault added or changed, or on the one removed: open
         * connections keep what they have (ft its old settings and generation) */
        if ((pf->action == PLAN_FAULT_ATTACH || pf->action == PLAN_FAULT_CHANGE) && nf->new_only) {
            log_not_applied(c, nf,
                            "connections: new: open connections keep what they had, it "
                            "reaches those accepted from now on");
            continue;
        }
        if (pf->action == PLAN_FAULT_DETACH && of->new_only)
            continue;
        switch (pf->action) {
        case PLAN_FAULT_SAME:
            if (ft && rt_move(ft, nf, gen) < 0)
                conn_abort(c, "out of memory");
            break;
        case PLAN_FAULT_CHANGE:
            if (ft && fault_type_is_packet(ft->f->type))
                break; /* packet faults: open connections keep theirs */
            if (ft && ft->f->type == nf->type) {
                if (rt_move(ft, nf, gen) < 0) {
                    conn_abort(c, "out of memory");
                    break;
                }
                conn__fault_note(c, nf->name, LEG_CLIENT, "changed on this open connection");
                if (ft->ops->shape)
                    inject__shaping_release(ft); /* the new values shape what comes next */
                break;
            }
            /* another type under the same name, or it had not reached c: decided again */
            if (ft)
                rt_detach(ft);
            rt_maybe_attach(c, nf, gen);
            break;
        case PLAN_FAULT_ATTACH:
            rt_maybe_attach(c, nf, gen);
            break;
        case PLAN_FAULT_DETACH:
            if (ft && !fault_type_is_packet(ft->f->type))
                rt_detach(ft);
            break;
        }
    }
    rt_sort(c->inj, np);
    c->p = np;
    cfg_gen_ref(gen);
    cfg_gen_unref(c->gen);
    c->gen = gen;
}

void inject_describe(const struct conn *c,
                     void (*fn)(void *arg, const struct fault *f, const char *state), void *arg)
{
    char state[128];

    if (!c->inj)
        return;
    for (const struct fault_rt *ft = c->inj->head; ft; ft = ft->next) {
        if (ft->detached)
            continue;
        if (ft->ops->describe)
            ft->ops->describe(ft, state, sizeof state);
        else
            snprintf(state, sizeof state, "%s", ft->fired ? "fired" : "armed");
        fn(arg, ft->f, state);
    }
}

void inject_close(struct conn *c)
{
    struct inject *inj = c->inj;

    if (!inj)
        return;
    for (struct fault_rt *ft = inj->head; ft; ft = ft->next)
        rt_close_timers(ft);
    for (int d = 0; d < 2; d++) {
        struct shaper *s = inj->shape[d];
        if (!s)
            continue;
        conn__hold(c);
        uv_close((uv_handle_t *)&s->timer, on_shaper_closed);
    }
}

void inject_free(struct conn *c)
{
    struct inject *inj = c->inj;

    if (!inj)
        return;
    for (struct fault_rt *ft = inj->head, *next; ft; ft = next) {
        next = ft->next;
        rt_free(ft);
    }
    for (int d = 0; d < 2; d++) {
        struct shaper *s = inj->shape[d];
        if (!s)
            continue;
        for (size_t i = s->head; i < s->n; i++)
            if (s->v[i].b)
                buf_unref(s->v[i].b);
        free(s->v);
        free(s);
    }
    free(inj);
    c->inj = NULL;
}
