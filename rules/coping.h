/*
 * How an application coped with finwait's faults. A finding a fault caused is not the
 * application's (verdict.h, `expected`); what the application did next is: did it retry on a
 * new connection, close and give up (an error surfaced to its caller, or its work was done),
 * or wait on a connection the fault left dead (it hangs: no timeout)? Judged from the wire
 * at finwait: the faulted connection's client leg after the fault acted, and the client's
 * next connection to the same proxy. Pure C: the relay records, the admin API reads.
 *
 *   outcome   what the client did after the fault acted on its connection
 *   retried   a new connection of the same client to the proxy, while the faulted one was
 *             open or within `retry_within` of the client's close (or of finwait's RST to it)
 *   closed    it closed the connection (FIN or RST; or finwait's RST ended it) and opened
 *             none within `retry_within`: it gave up, the error surfaced (or it was done)
 *   hung      the connection open, and no byte, FIN or RST from the client, and no new
 *             connection, for `hung_after` since the fault acted (or its last byte after it)
 *   pending   none of these yet
 */
#ifndef FINWAIT_RULES_COPING_H
#define FINWAIT_RULES_COPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum coping_outcome { COPE_PENDING, COPE_RETRIED, COPE_CLOSED, COPE_HUNG, COPE_COUNT };

const char *coping_outcome_name(enum coping_outcome o);

#define COPE_NONE (-1.0) /* a time that has not come (times are wall-clock seconds) */

/* One connection a fault acted on. */
struct coping_rec {
    uint64_t conn;   /* its id; 0: a free slot */
    char client[64]; /* the client's address without its port */
    char fault[48];  /* the first fault that acted on it (a copy: a reload may free it) */
    double fault_s;  /* when it acted */
    double active_s; /* the client's last byte on it after the fault, or COPE_NONE */
    double closed_s; /* the client's FIN or RST, or finwait's RST to it, or COPE_NONE */
    uint64_t retry;  /* the client's next connection to the proxy, or 0 */
    double retry_s;  /* when it was accepted */
};

/* How a fault's connections ended, over those judged so far. */
struct coping_tally {
    char fault[48];
    uint64_t n[COPE_COUNT];
    uint64_t examples[COPE_COUNT][3];              /* the first connections of each outcome */
    double min_ms[COPE_COUNT], max_ms[COPE_COUNT]; /* fault -> retry, -> close, or waited */
};

#define COPING_RECS   256 /* connections followed per proxy; older ones are folded */
#define COPING_FAULTS 16  /* faults tallied per proxy; past this, "(other faults)" */

struct coping {
    double retry_within_s, hung_after_s; /* the proxy's thresholds (verdicts: block) */
    bool final; /* judge as if no connection will come any more (`finwait run` at its end):
                   a client that closed did not retry */
    struct coping_rec rec[COPING_RECS]; /* a ring, oldest overwritten */
    size_t next;
    struct coping_tally folded[COPING_FAULTS]; /* the overwritten ones, judged then */
    size_t nfolded;
};

/* A fault acted on connection conn of `client` at now_s: followed from now (once per
 * connection; the first fault names it). Returns its record. */
struct coping_rec *coping_fault(struct coping *cp, uint64_t conn, const char *client,
                                const char *fault, double now_s);
/* The record of connection conn, or NULL. */
struct coping_rec *coping_find(struct coping *cp, uint64_t conn);
/* The client `client` opened connection conn at now_s: a retry for the connections of its
 * own that a fault acted on before and that have none yet. */
void coping_accept(struct coping *cp, uint64_t conn, const char *client, double now_s);

/* What the client of r did, judged at now_s. *ms: fault -> retry (retried), fault -> close
 * (closed), how long it has waited (hung), 0 (pending). */
enum coping_outcome coping_judge(const struct coping *cp, const struct coping_rec *r, double now_s,
                                 double *ms);

/* Every fault's tally at now_s: the folded ones plus the records still followed. Writes at
 * most max and returns how many. */
size_t coping_tallies(const struct coping *cp, double now_s, struct coping_tally *out, size_t max);

/* One sentence on a tally, for people: "acted on 3 connections: the client retried 2
 * (2.1-4.0 ms after), closed 1 without retrying (5002 ms after), hung on none". */
void coping_text(const struct coping_tally *t, char *buf, size_t len);

#endif
