/*
 * A connection's life as a sequence diagram (client | finwait | server), recorded while it
 * runs and printed when it ends, so the four-way close can be read like a textbook figure.
 */
#ifndef FINWAIT_PROXY_TIMELINE_H
#define FINWAIT_PROXY_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proxy/conn-t.h"

enum tl_kind {
    TL_SYN,    /* a leg was established (accept or connect) */
    TL_DATA,   /* a burst of bytes relayed in one direction */
    TL_DROP,   /* a burst of bytes discarded by a fault */
    TL_FIN,    /* a FIN on one leg */
    TL_RST,    /* an RST on one leg */
    TL_FAULT,  /* a fault acted */
    TL_PACKET, /* a segment of the close, dropped or passed by the packet engine */
    TL_NOTE,   /* anything else worth a line: connect failure, close */
};

struct timeline;

/*
 * Record an event. `inbound` is true for what a peer sent to finwait on `leg`, false for what
 * finwait sent. For TL_DATA/TL_DROP, `leg` is the source leg and consecutive bursts in one
 * direction are merged. `state` is finwait's TCP state on the leg (may be NULL).
 * Allocation failure only loses the event.
 */
void timeline_add(struct timeline **tl, double t_ms, enum tl_kind k, enum leg_id leg, bool inbound,
                  uint64_t bytes, const char *state, const char *text);
/* The time of the latest event recorded (also of those past the size limit): where the
 * diagram ends, on the events' clock. */
double timeline_end_ms(const struct timeline *tl);
/* Print the diagram, events in time order. `title` is the first line. */
void timeline_print(const struct timeline *tl, FILE *out, const char *title);
void timeline_free(struct timeline *tl);

#endif
