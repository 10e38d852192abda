#include "plan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* True if old proxy o, listening on `bound`, listens where n asks to. */
static bool same_address(const struct proxy_cfg *o, uint16_t bound, const struct proxy_cfg *n)
{
    return strcmp(o->listen_host, n->listen_host) == 0 &&
           (o->listen_port == n->listen_port || bound == n->listen_port);
}

static void add(struct plan *p, enum plan_action a, size_t old_index, size_t new_index,
                bool renamed)
{
    p->steps[p->n++] = (struct plan_step){a, old_index, new_index, renamed};
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
    for (j = 0; j < next->nproxies; j++)
        if (kept_by[j] != PLAN_NONE) {
            add(out, PLAN_KEEP, kept_by[j], j,
                strcmp(old->proxies[kept_by[j]].name, next->proxies[j].name) != 0);
            out->nkeep++;
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
    free(p->steps);
    memset(p, 0, sizeof *p);
}
