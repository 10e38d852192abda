#include "proxy/relay/relay.h"

#include <stdlib.h>

struct cfg_gen *cfg_gen_new(const struct config *cfg, struct config *owned)
{
    struct cfg_gen *g = calloc(1, sizeof *g);

    if (g) {
        g->cfg = cfg;
        g->owned = owned;
        g->refs = 1;
    }
    return g;
}

struct cfg_gen *cfg_gen_ref(struct cfg_gen *g)
{
    g->refs++;
    return g;
}

void cfg_gen_unref(struct cfg_gen *g)
{
    if (--g->refs > 0)
        return;
    config_free(g->owned);
    free(g);
}
