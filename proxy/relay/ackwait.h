/*
 * Waiting until a peer's kernel has everything finwait wrote to it, before finwait resets
 * that leg: a reset (SO_LINGER {1,0} then close) discards the socket's send queue, so bytes
 * finwait accepted but had not delivered would be lost where a direct peer would have them.
 * "Has it" means acknowledged: libuv's queue is written, the FIN (if one is on its way) is
 * sent, and SIOCOUTQ is 0.
 *
 * The wait is bounded by progress, not by time: it gives up when the unacknowledged count has
 * not gone down for ACKWAIT_STALL_MS (a peer that stopped reading, a peer that vanished).
 */
#ifndef FINWAIT_PROXY_ACKWAIT_H
#define FINWAIT_PROXY_ACKWAIT_H

#include "proxy/relay/conn-t.h"

#define ACKWAIT_STALL_MS 2000

/* Start waiting on leg l of c; conn__acked() is called when it is over (never from this
 * call). 0, or UV_ENOMEM. */
int ackwait_start(struct conn *c, enum leg_id l);
/* Stop waiting (the connection closes); the timer's close is counted in c->pending. */
void ackwait_stop(struct conn *c);

#endif
