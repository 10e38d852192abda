/*
 * The findings of one proxy, aggregated: repeated findings of one kind, side and attribution
 * (the application's, or a configured fault's) are one entry with a count, the first and last
 * time, a few example connections and the evidence of the latest. Pure C: the relay adds,
 * the admin API reads (same thread).
 */
#ifndef FINWAIT_RULES_FINDINGS_H
#define FINWAIT_RULES_FINDINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "rules/verdict.h"

#define FINDING_EXAMPLES 5

struct finding_agg {
    uint64_t count;                      /* 0: no finding of this kind, side and attribution yet */
    double first_s;                      /* wall-clock seconds of the first */
    double last_s;                       /* ... and of the latest */
    uint64_t examples[FINDING_EXAMPLES]; /* the first connections it was found on */
    unsigned nexamples;
    uint64_t last_conn;  /* the latest connection (0 for findings over many connections) */
    char peer[80];       /* the latest's peer address */
    char expected[64];   /* the fault it is attributed to (last.expected points here), or "" */
    struct finding last; /* the latest's evidence and sentence */
    bool has_facts;      /* facts holds the latest's connection (for its diagram) */
    struct verdict_facts facts;
};

struct findings {
    struct finding_agg agg[VK_COUNT][2][2]; /* [kind][side][expected] */
    uint64_t total;
};

/* Add finding x of connection conn_id (0: none) whose facts are f (NULL: none), peer address
 * `peer`, at wall-clock `now_s`. Returns the aggregate it went to. */
struct finding_agg *findings_add(struct findings *fs, const struct finding *x, uint64_t conn_id,
                                 const struct verdict_facts *f, const char *peer, double now_s);

#endif
