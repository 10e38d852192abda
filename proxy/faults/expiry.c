/*
 * The clocks of `for:` faults: one timer for the earliest deadline, a list of the running
 * faults' deadlines, and a list of the faults that ran out (by proxy name and definition, so
 * a reload can keep them out).
 */
#include "proxy/faults/expiry.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "proxy/log.h"
#include "proxy/server.h"

/* A running fault's clock. */
struct clock {
    const struct fault *f; /* in the running configuration */
    const char *proxy;     /* its proxy's name, in the running configuration */
    uint64_t deadline;     /* uv_now() when it runs out */
};

/* A fault that ran out: it stays out while a configuration defines it the same way. */
struct ran_out {
    char *proxy;
    struct fault def; /* def.name is ours */
    bool fresh;       /* it ran out in the reload under way: no second log line for it */
    bool defined;     /* the configuration being filtered still has it */
};

struct expiry {
    struct server *srv;
    uv_timer_t timer;
    struct clock *clocks;
    size_t nclocks;
    struct ran_out *out;
    size_t nout;
    bool checked; /* the last filter kept ran-out faults out (not an API request) */
};

/* Ran-out faults remembered at most: a file defines fewer; a long run of API requests that add
 * time-boxed toxics of new names must not grow the list (and each reload's walk of it). */
#define RAN_OUT_MAX 1024

/* A failed revert (out of memory) is tried again this much later. */
#define RETRY_MS 1000

static void on_timer(uv_timer_t *t);

static void arm(struct expiry *ex)
{
    uint64_t now = uv_now(ex->srv->relay.loop), first = UINT64_MAX;

    for (size_t i = 0; i < ex->nclocks; i++)
        if (ex->clocks[i].deadline < first)
            first = ex->clocks[i].deadline;
    if (first == UINT64_MAX)
        uv_timer_stop(&ex->timer);
    else
        uv_timer_start(&ex->timer, on_timer, first > now ? first - now : 0, 0);
}

int expiry_new(struct expiry **out, struct server *srv)
{
    struct expiry *ex = calloc(1, sizeof *ex);

    if (!ex)
        return UV_ENOMEM;
    ex->srv = srv;
    uv_timer_init(srv->relay.loop, &ex->timer);
    ex->timer.data = ex;
    *out = ex;
    return 0;
}

/* In order: the ones that just ran out stay the last (revert() logs them from there). */
static void forget_ran_out(struct expiry *ex, size_t i)
{
    free(ex->out[i].proxy);
    free(ex->out[i].def.name);
    memmove(&ex->out[i], &ex->out[i + 1], (ex->nout - i - 1) * sizeof *ex->out);
    ex->nout--;
}

static void on_closed(uv_handle_t *h)
{
    struct expiry *ex = h->data;

    while (ex->nout)
        forget_ran_out(ex, ex->nout - 1);
    free(ex->out);
    free(ex->clocks);
    free(ex);
}

void expiry_close(struct expiry *ex)
{
    uv_close((uv_handle_t *)&ex->timer, on_closed);
}

/* Remember clock i's fault as ran out. False when out of memory. */
static bool add_ran_out(struct expiry *ex, const struct clock *c)
{
    struct ran_out *o = realloc(ex->out, (ex->nout + 1) * sizeof *o);
    char *proxy, *name;

    if (!o)
        return false;
    ex->out = o;
    proxy = strdup(c->proxy);
    name = strdup(c->f->name);
    if (!proxy || !name) {
        free(proxy);
        free(name);
        return false;
    }
    o = &ex->out[ex->nout++];
    o->proxy = proxy;
    o->def = *c->f; /* a struct copy keeps the loader's zeroed padding for fault_same() */
    o->def.name = name;
    o->fresh = true;
    o->defined = false;
    return true;
}

/*
 * Take the faults whose clock ran out (or all the time-boxed ones: `all`) out of the running
 * configuration, with a reload of a copy of it. On failure (out of memory: the copy is of what
 * runs) nothing changes and the timer tries again later.
 */
static void revert(struct expiry *ex, bool all)
{
    uint64_t now = uv_now(ex->srv->relay.loop);
    size_t nout = ex->nout, n = 0;
    struct config *next;
    char dur[32], why[512] = "out of memory";

    if (ex->srv->relay.stopping) /* no more reloads: the stop began with expiry_revert_all */
        return;
    for (size_t i = 0; i < ex->nclocks; i++) {
        const struct clock *c = &ex->clocks[i];
        if (!all && c->deadline > now)
            continue;
        if (!add_ran_out(ex, c))
            goto fail;
        n++;
    }
    if (n == 0)
        return;
    next = config_copy(ex->srv->gen->cfg);
    /* expiry_filter (in the reload) takes the faults out of the copy */
    if (!next || server__reload(ex->srv, next, RELOAD_QUIET, why, sizeof why, NULL) != 0)
        goto fail;
    /* the commit may have forgotten older ones, never these: they are the last n */
    for (size_t i = ex->nout - n; i < ex->nout; i++) {
        duration_format(ex->out[i].def.for_ms, dur, sizeof dur);
        if (all)
            LOG(LOG_LEVEL_INFO, ex->out[i].proxy, "fault_expired",
                "fault '%s' of proxy '%s' (for %s) reverted: finwait is stopping",
                ex->out[i].def.name, ex->out[i].proxy, dur);
        else
            LOG(LOG_LEVEL_INFO, ex->out[i].proxy, "fault_expired",
                "fault '%s' of proxy '%s' ran its %s: detached", ex->out[i].def.name,
                ex->out[i].proxy, dur);
    }
    return;
fail:
    LOG(LOG_LEVEL_ERROR, NULL, "fault_expired",
        "cannot detach the faults that ran out (%s): trying again in %d ms", why, RETRY_MS);
    while (ex->nout > nout)
        forget_ran_out(ex, ex->nout - 1);
    uv_timer_start(&ex->timer, on_timer, RETRY_MS, 0);
}

static void on_timer(uv_timer_t *t)
{
    revert(t->data, false);
}

void expiry_revert_all(struct expiry *ex)
{
    if (ex && ex->nclocks)
        revert(ex, true);
}

void expiry_filter(struct expiry *ex, struct config *next, bool asked)
{
    char dur[32];

    if (!ex)
        return;
    ex->checked = !asked;
    for (size_t k = 0; k < ex->nout; k++)
        ex->out[k].defined = false;
    for (size_t i = 0; i < next->nproxies; i++) {
        struct proxy_cfg *p = &next->proxies[i];
        for (size_t j = p->nfaults; j-- > 0;) {
            for (size_t k = 0; k < ex->nout; k++) {
                struct ran_out *o = &ex->out[k];
                if (o->defined || strcmp(o->proxy, p->name) != 0 ||
                    !fault_same(&o->def, &p->faults[j]))
                    continue;
                if (asked) {
                    /* the API's document loses a fault that ran out (admin_api.c): this one
                     * was added again by the request, which starts it again */
                    forget_ran_out(ex, k);
                    break;
                }
                o->defined = true;
                if (!o->fresh)
                    LOG(LOG_LEVEL_INFO, p->name, "fault_expired",
                        "fault '%s' of proxy '%s' ran its %s before: it stays detached (change "
                        "its definition to attach it again)",
                        o->def.name, p->name, duration_format(o->def.for_ms, dur, sizeof dur));
                config_drop_fault(next, i, j);
                break;
            }
        }
    }
}

/* The plan's step that makes next->proxies[i] run, or NULL (a disabled proxy has none). */
static const struct plan_step *step_of(const struct plan *plan, size_t i)
{
    for (size_t k = 0; plan && k < plan->n; k++)
        if (plan->steps[k].new_index == i)
            return &plan->steps[k];
    return NULL;
}

void expiry_commit(struct expiry *ex, const struct config *next, const struct plan *plan)
{
    uint64_t now = uv_now(ex->srv->relay.loop);
    struct clock *clocks = NULL;
    size_t n = 0, cap = 0;

    /* The ran-out faults a file (or SIGHUP) no longer defines as they were: forgotten, so
     * that adding one again attaches it. An API request's document never has them (it loses
     * them), so it says nothing about them: they stay remembered while there is a file to
     * bring them back, and no more than RAN_OUT_MAX of them (the oldest go first). */
    while (ex->nout > RAN_OUT_MAX && !ex->out[0].fresh)
        forget_ran_out(ex, 0);
    for (size_t k = ex->nout; k-- > 0;) {
        struct ran_out *o = &ex->out[k];
        if (!o->fresh && ((ex->checked && !o->defined) || !ex->srv->file))
            forget_ran_out(ex, k);
        else
            o->fresh = false;
    }
    for (size_t i = 0; i < next->nproxies; i++) {
        const struct proxy_cfg *p = &next->proxies[i];
        const struct plan_step *st = step_of(plan, i);
        /* a proxy started anew (new, enabled again, or moved) attaches its faults anew */
        bool restarted = st && st->action == PLAN_START;

        for (size_t j = 0; j < p->nfaults; j++) {
            const struct fault *f = &p->faults[j];
            uint64_t deadline = now + f->for_ms;

            if (!f->for_ms)
                continue;
            /* unchanged under the same proxy name: its clock goes on */
            for (size_t k = 0; !restarted && k < ex->nclocks; k++) {
                struct clock *c = &ex->clocks[k];
                if (c->f && strcmp(c->proxy, p->name) == 0 && fault_same(c->f, f)) {
                    deadline = c->deadline;
                    c->f = NULL; /* one clock for one fault */
                    break;
                }
            }
            if (n == cap) {
                struct clock *t = realloc(clocks, (cap = cap ? cap * 2 : 8) * sizeof *t);
                if (!t) {
                    /* a clock lost is a fault that stays: say so rather than pretend */
                    LOG(LOG_LEVEL_ERROR, p->name, "fault_expired",
                        "out of memory: fault '%s' will not end by itself", f->name);
                    continue;
                }
                clocks = t;
            }
            clocks[n++] = (struct clock){f, p->name, deadline};
        }
    }
    free(ex->clocks);
    ex->clocks = clocks;
    ex->nclocks = n;
    arm(ex);
}

bool expiry_left(const struct expiry *ex, const struct fault *f, uint64_t *left_ms)
{
    uint64_t now;

    if (!ex)
        return false;
    now = uv_now(ex->srv->relay.loop);
    for (size_t i = 0; i < ex->nclocks; i++) {
        if (ex->clocks[i].f == f) {
            *left_ms = ex->clocks[i].deadline > now ? ex->clocks[i].deadline - now : 0;
            return true;
        }
    }
    return false;
}
