/*
 * The relay's side of the teardown verdicts: it records each connection's facts as they
 * happen (one call per event the relay already logs), runs the detectors of rules/verdict.h
 * on them, and files what they find with the connection's proxy (proxy_stats.findings),
 * in the log (a `finding` event, so on /events too) and in the connection's timeline.
 *
 * Nothing here runs per byte: a burst costs what conn__delivered() already does.
 */
#ifndef FINWAIT_PROXY_FACTS_H
#define FINWAIT_PROXY_FACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/relay/conn-t.h"

/* At accept: c records facts if any verdict of its proxy is on. */
void facts_start(struct conn *c);
/* c's client address is known: a new connection of a client a fault acted on is its retry. */
void facts_accepted(struct conn *c);
/* Leg l of c got flag f (conn__leg_set); judges what an event can complete. */
void facts_leg(struct conn *c, enum leg_id l, unsigned f);
/* finwait read bytes from c's server (before relaying them). */
void facts_server_read(struct conn *c);
/* len bytes of d reached the destination's kernel at t_ms (of the connection's clock). */
void facts_data(struct conn *c, enum dir d, size_t len, double t_ms);
/* len bytes of d were never delivered (the destination's socket broke, or finwait closed). */
void facts_undelivered(struct conn *c, enum dir d, size_t len);
/* A configured fault acted on c. */
void facts_fault(struct conn *c, const char *fault_name);
/* c is being freed: its last judgement (and its share of its client's TIME_WAIT rate). */
void facts_end(struct conn *c);
/* The verdicts that need time to pass, over the open connections `list` (linked by next):
 * called about once a second. */
void facts_sweep(struct conn *list);
/* The kinds found on c (bit per enum verdict_kind). */
unsigned facts_found(const struct conn *c);

#endif
