/*
 * A connection's life as a sequence diagram (client | finwait | server), recorded while it
 * runs and printed when it ends, so the four-way close can be read like a textbook figure.
 * Every connection records one (the admin API shows it while the connection lives); it is
 * printed only with log.timeline. Memory is bounded: the first TL_HEAD events and the latest
 * TL_MAX_EVENTS - TL_HEAD are kept, those in between are counted.
 */
#ifndef FINWAIT_PROXY_TIMELINE_H
#define FINWAIT_PROXY_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "proxy/relay/conn-t.h"

/* At most this many events per connection (each ~80 bytes plus its text, <= 200 bytes):
 * the first TL_HEAD, then the latest, overwriting the oldest of those. */
#define TL_MAX_EVENTS 256
#define TL_HEAD       64

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
struct log_kv;

/*
 * Record an event. `inbound` is true for what a peer sent to finwait on `leg`, false for what
 * finwait sent. For TL_DATA/TL_DROP, `leg` is the source leg and consecutive bursts in one
 * direction are merged. `state` is finwait's TCP state on the leg (may be NULL).
 * Allocation failure only loses the event.
 */
void timeline_add(struct timeline **tl, double t_ms, enum tl_kind k, enum leg_id leg, bool inbound,
                  uint64_t bytes, const char *state, const char *text);
/* The same, naming the event as the JSON log does ("fin_received") and with the log line's
 * extra keys, so that the admin API can give the event back as the log's object. `event`
 * must be a static string; kv may be NULL. */
void timeline_add_event(struct timeline **tl, double t_ms, enum tl_kind k, enum leg_id leg,
                        bool inbound, uint64_t bytes, const char *state, const char *text,
                        const char *event, const struct log_kv *kv, int nkv);
/* The time of the latest event recorded (also of those past the size limit): where the
 * diagram ends, on the events' clock. */
double timeline_end_ms(const struct timeline *tl);
/* Print the diagram, events in time order. `title` is the first line. */
void timeline_print(const struct timeline *tl, FILE *out, const char *title);
/* The events so far as a JSON array (a jansson json_t *, new reference) of the JSON log's
 * objects: ts (from `t0_wall`, the wall-clock seconds at accept), level, event, proxy, conn,
 * t_ms, leg, state, the event's extra keys, msg. NULL when out of memory. */
json_t *timeline_json(const struct timeline *tl, const char *proxy, uint64_t conn_id,
                      double t0_wall);
/* Take `bytes` back from the latest bursts read on `leg` (TL_DATA): written to the
 * destination's kernel, they were discarded by a reset before its peer acknowledged them. */
void timeline_retract(struct timeline *tl, enum leg_id leg, uint64_t bytes);
void timeline_free(struct timeline *tl);

#endif
