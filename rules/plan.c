#include "plan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* True if old proxy o, listening on `bound`, listens where n asks to. A port 0 asks for any
 * port: the one it has will do (a file that says `:0` after the admin API wrote down the port
 * it got, as the API does so that the proxy keeps it). */
static bool same_address(const struct proxy_cfg *o, uint16_t bound, const struct proxy_cfg *n)
{
    return strcmp(o->listen_host, n->listen_host) == 0 &&
           (o->listen_port == n->listen_port || bound == n->listen_port || n->listen_port == 0);
}

static void add(struct plan *p, enum plan_action a, size_t old_index, size_t new_index,
                bool renamed)
{
    p->steps[p->n++] = (struct plan_step){
        .action = a, .old_index = old_index, .new_index = new_index, .renamed = renamed};
}

/* How many faults of p before index i have the name of fault i. */
static size_t nth_of_name(const struct proxy_cfg *p, size_t i)
{
    size_t n = 0;

    for (size_t k = 0; k < i; k++)
        n += strcmp(p->faults[k].name, p->faults[i].name) == 0;
    return n;
}

/* The fault of p named like fault i of q, as the same n-th of its name; PLAN_NONE if none. */
static size_t fault_match(const struct proxy_cfg *p, const struct proxy_cfg *q, size_t i)
{
    size_t want = nth_of_name(q, i), seen = 0;

    for (size_t k = 0; k < p->nfaults; k++)
        if (strcmp(p->faults[k].name, q->faults[i].name) == 0 && seen++ == want)
            return k;
    return PLAN_NONE;
}

/* The faults of a kept proxy: what attaches, changes and detaches on its open connections. */
static int plan_faults(const struct proxy_cfg *o, const struct proxy_cfg *n, struct plan_step *st)
{
    st->faults = malloc((o->nfaults + n->nfaults + 1) * sizeof *st->faults);
    if (!st->faults)
        return -1;
    for (size_t i = 0; i < o->nfaults; i++)
        if (fault_match(n, o, i) == PLAN_NONE)
            st->faults[st->nfaults++] = (struct plan_fault){PLAN_FAULT_DETACH, i, PLAN_NONE};
    for (size_t j = 0; j < n->nfaults; j++) {
        size_t i = fault_match(o, n, j);
        enum plan_fault_action a = i == PLAN_NONE                             ? PLAN_FAULT_ATTACH
                                   : fault_same(&o->faults[i], &n->faults[j]) ? PLAN_FAULT_SAME
                                                                              : PLAN_FAULT_CHANGE;
        st->faults[st->nfaults++] = (struct plan_fault){a, i, j};
    }
    for (size_t k = 0; k < st->nfaults; k++)
        st->nchanged += st->faults[k].action != PLAN_FAULT_SAME;
    return 0;
}

int plan_make(const struct config *old, const uint16_t *bound_port, const struct config *next,
              struct plan *out)
{
    size_t *kept_by = NULL; /* per new proxy: the old one whose socket it keeps */
    bool *taken = NULL;     /* per old proxy: its socket is kept */
    size_t i, j;

    memset(out, 0, sizeof *out);
    kept_by = malloc((next->nproxies + 1) * sizeof *kept_by);
    taken = calloc(old->nproxies + 1, sizeof *taken);
    out->steps = malloc((old->nproxies + next->nproxies + 1) * sizeof *out->steps);
    if (!kept_by || !taken || !out->steps) {
        free(kept_by);
        free(taken);
        plan_free(out);
        return -1;
    }
    for (j = 0; j < next->nproxies; j++)
        kept_by[j] = PLAN_NONE;

    /* The same proxy, by name, at the same address. */
    for (j = 0; j < next->nproxies; j++) {
        const struct proxy_cfg *n = &next->proxies[j];
        if (!n->enabled)
            continue;
        for (i = 0; i < old->nproxies; i++)
            if (bound_port[i] && !taken[i] && strcmp(old->proxies[i].name, n->name) == 0 &&
                same_address(&old->proxies[i], bound_port[i], n)) {
                taken[i] = true;
                kept_by[j] = i;
                break;
            }
    }
    /* A fixed address whose socket no proxy of the same name kept passes to the proxy now
     * at that address: binding it anew would fail while the old socket still holds it. */
    for (j = 0; j < next->nproxies; j++) {
        const struct proxy_cfg *n = &next->proxies[j];
        if (!n->enabled || kept_by[j] != PLAN_NONE || n->listen_port == 0)
            continue;
        for (i = 0; i < old->nproxies; i++)
            if (bound_port[i] && !taken[i] && same_address(&old->proxies[i], bound_port[i], n)) {
                taken[i] = true;
                kept_by[j] = i;
                break;
            }
    }

    for (j = 0; j < next->nproxies; j++)
        if (next->proxies[j].enabled && kept_by[j] == PLAN_NONE) {
            add(out, PLAN_START, PLAN_NONE, j, false);
            out->nstart++;
        }
    for (j = 0; j < next->nproxies; j++) {
        const struct proxy_cfg *o, *n = &next->proxies[j];
        struct plan_step *st;
        if (kept_by[j] == PLAN_NONE)
            continue;
        o = &old->proxies[kept_by[j]];
        add(out, PLAN_KEEP, kept_by[j], j, strcmp(o->name, n->name) != 0);
        out->nkeep++;
        st = &out->steps[out->n - 1];
        st->upstream_changed =
            strcmp(o->upstream_host, n->upstream_host) != 0 || o->upstream_port != n->upstream_port;
        if (!st->renamed && plan_faults(o, n, st) < 0) {
            free(kept_by);
            free(taken);
            plan_free(out);
            return -1;
        }
    }
    for (i = 0; i < old->nproxies; i++)
        if (bound_port[i] && !taken[i]) {
            add(out, PLAN_STOP, i, PLAN_NONE, false);
            out->nstop++;
        }
    free(kept_by);
    free(taken);
    return 0;
}

void plan_free(struct plan *p)
{
    for (size_t k = 0; k < p->n; k++)
        free(p->steps[k].faults);
    free(p->steps);
    memset(p, 0, sizeof *p);
}
