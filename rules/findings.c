/* Aggregation of a proxy's findings (findings.h). */
#include "rules/findings.h"

#include <stdio.h>

struct finding_agg *findings_add(struct findings *fs, const struct finding *x, uint64_t conn_id,
                                 const struct verdict_facts *f, const char *peer, double now_s)
{
    struct finding_agg *a = &fs->agg[x->kind][x->side][x->expected != NULL];

    if (a->count++ == 0)
        a->first_s = now_s;
    a->last_s = now_s;
    if (conn_id && a->nexamples < FINDING_EXAMPLES)
        a->examples[a->nexamples++] = conn_id;
    a->last_conn = conn_id;
    snprintf(a->peer, sizeof a->peer, "%s", peer ? peer : "");
    a->last = *x;
    a->has_facts = f != NULL;
    if (f)
        a->facts = *f;
    /* the fault's name belongs to a configuration a reload may free: keep a copy */
    snprintf(a->expected, sizeof a->expected, "%s", x->expected ? x->expected : "");
    a->last.expected = x->expected ? a->expected : NULL;
    fs->total++;
    return a;
}
