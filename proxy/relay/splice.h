/*
 * The zero-copy data path (Linux): a direction whose bytes no fault touches is moved
 * socket -> pipe -> socket with splice(2) instead of read + write through a user buffer.
 * A direction switches to it when a read fills a whole buffer (bulk transfer), so idle and
 * request/response connections never pay for a pipe.
 */
#ifndef FINWAIT_PROXY_SPLICE_H
#define FINWAIT_PROXY_SPLICE_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/relay/conn-t.h"

struct splicer;

/* Start splicing direction d of c (the source leg is not being read by libuv, the
 * destination has nothing queued). Returns 0, or a negative UV_E* code (c is unchanged). */
int splice_start(struct conn *c, enum dir d);
/* Stop moving bytes for d (the connection is closing or a leg is reset); closes its handles,
 * each counted in c->pending. */
void splice_stop(struct conn *c, enum dir d);

/* Leave the splice path for d: write what is in the pipe with conn__write (in order, before
 * anything read later) and close the splicer. Returns true if d's source had already sent
 * its FIN and the FIN was not relayed yet (the caller relays it after those bytes). */
bool splice_unsplice(struct conn *c, enum dir d);

#endif
