/*
 * How a client coped with a fault, on synthetic sequences: each outcome (retried, closed,
 * hung) from its wire shape, its time, and the cases that must not be taken for one (another
 * client's connection, a client that comes back long after it closed, a client still busy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/coping.h"
#include "tests/lib/check.h"

static struct coping *fresh(void)
{
    struct coping *cp = calloc(1, sizeof *cp);
    CHECK(cp);
    cp->retry_within_s = 5;
    cp->hung_after_s = 10;
    return cp;
}

static enum coping_outcome judge(struct coping *cp, uint64_t conn, double now, double *ms)
{
    struct coping_rec *r = coping_find(cp, conn);
    CHECK(r);
    return coping_judge(cp, r, now, ms);
}

int main(void)
{
    struct coping *cp = fresh();
    struct coping_rec *r;
    struct coping_tally t[COPING_FAULTS];
    char text[600];
    double ms;
    size_t n;

    /* retried: RST from the fault at 100.0, the client's next connection 2 ms later */
    r = coping_fault(cp, 1, "10.0.0.1", "reset", 100.0);
    r->closed_s = 100.0;
    CHECK_EQ(judge(cp, 1, 100.001, &ms), COPE_PENDING); /* a retry may still come */
    coping_accept(cp, 2, "10.0.0.2", 100.002);          /* another client: not a retry */
    CHECK_EQ(judge(cp, 1, 100.003, &ms), COPE_PENDING);
    coping_accept(cp, 3, "10.0.0.1", 100.002);
    CHECK_EQ(judge(cp, 1, 100.003, &ms), COPE_RETRIED);
    CHECK_DBL(ms, >, 1.9);
    CHECK_DBL(ms, <, 2.1);
    TEST_PASS("a new connection of the same client after the fault's RST is a retry (2 ms)");

    /* closed: the client closes 50 ms after the fault, nothing within retry_within */
    r = coping_fault(cp, 4, "10.0.0.3", "close", 200.0);
    r->closed_s = 200.05;
    CHECK_EQ(judge(cp, 4, 204.0, &ms), COPE_PENDING);
    CHECK_EQ(judge(cp, 4, 205.1, &ms), COPE_CLOSED);
    CHECK_DBL(ms, >, 49.9);
    CHECK_DBL(ms, <, 50.1);
    coping_accept(cp, 5, "10.0.0.3", 206.0); /* back after the window: something new */
    CHECK_EQ(judge(cp, 4, 206.1, &ms), COPE_CLOSED);
    cp->final = true; /* `finwait run` at its end: no retry can come */
    CHECK_EQ(judge(cp, 4, 200.1, &ms), COPE_CLOSED);
    cp->final = false;
    TEST_PASS("a client that closed and did not come back within retry_within closed (50 ms)");

    /* hung: the fault (a blackhole) at 300; the client writes at 302 and then nothing */
    r = coping_fault(cp, 6, "10.0.0.4", "timeout", 300.0);
    r->active_s = 302.0;
    CHECK_EQ(judge(cp, 6, 311.0, &ms), COPE_PENDING); /* 9 s since its last byte */
    CHECK_EQ(judge(cp, 6, 312.5, &ms), COPE_HUNG);
    CHECK_DBL(ms, >, 10499);
    CHECK_DBL(ms, <, 10501);
    /* ... and when it finally gives up and reconnects, it retried after all */
    coping_accept(cp, 7, "10.0.0.4", 330.0);
    CHECK_EQ(judge(cp, 6, 330.1, &ms), COPE_RETRIED);
    CHECK_DBL(ms, >, 29999);
    TEST_PASS("a client silent for hung_after after the fault hung; its late reconnect is a retry");

    /* a second fault on the same connection does not restart its record */
    r = coping_fault(cp, 1, "10.0.0.1", "other", 400.0);
    CHECK_STR(r->fault, "reset");
    CHECK_DBL(r->fault_s, ==, 100.0);
    TEST_PASS("a connection is followed once, under the first fault that acted on it");

    /* the tallies, per fault, and the sentence */
    n = coping_tallies(cp, 400.0, t, COPING_FAULTS);
    CHECK_EQ(n, 3);
    CHECK_STR(t[0].fault, "reset");
    CHECK_EQ(t[0].n[COPE_RETRIED], 1);
    CHECK_EQ(t[0].examples[COPE_RETRIED][0], 1);
    CHECK_STR(t[1].fault, "close");
    CHECK_EQ(t[1].n[COPE_CLOSED], 1);
    CHECK_STR(t[2].fault, "timeout");
    coping_text(&t[1], text, sizeof text);
    CHECK_CONTAINS(text, "acted on 1 connection:");
    CHECK_CONTAINS(text, "closed without retrying 1 time (50.0 ms after the fault");
    fprintf(stderr, "  %s\n", text);
    TEST_PASS("tallies per fault, and their sentence");

    /* the ring: 256 more faulted connections fold the oldest into the tallies, judged then */
    for (uint64_t i = 0; i < COPING_RECS; i++) {
        r = coping_fault(cp, 1000 + i, "10.0.0.9", "many", 500.0);
        r->closed_s = 500.0;
    }
    CHECK(!coping_find(cp, 1));
    n = coping_tallies(cp, 600.0, t, COPING_FAULTS);
    {
        uint64_t reset = 0, many = 0;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(t[i].fault, "reset") == 0)
                reset += t[i].n[COPE_RETRIED];
            if (strcmp(t[i].fault, "many") == 0)
                many += t[i].n[COPE_CLOSED];
        }
        CHECK_EQ(reset, 1);
        CHECK_EQ(many, COPING_RECS);
    }
    TEST_PASS("past 256 connections the oldest are folded into the tallies, not lost");

    /* past COPING_FAULTS names, the rest go to one "(other faults)" line */
    free(cp);
    cp = fresh();
    for (int i = 0; i < COPING_FAULTS + 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        coping_fault(cp, (uint64_t)i + 1, "10.0.0.1", name, 1.0);
    }
    n = coping_tallies(cp, 2.0, t, COPING_FAULTS);
    CHECK_EQ(n, COPING_FAULTS);
    CHECK_STR(t[COPING_FAULTS - 1].fault, "(other faults)");
    CHECK_EQ(t[COPING_FAULTS - 1].n[COPE_PENDING], 5);
    TEST_PASS("more faults than tallies: the last one counts the rest");
    free(cp);
    return 0;
}
