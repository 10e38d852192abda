/*
 * Noticing that the peer of a leg finwait no longer reads has reset it. After a peer's FIN,
 * libuv stops reading that leg (a stream cannot be read past EOF), and an RST that follows
 * would only show at finwait's next write to it, while a direct peer learns at once. So the
 * leg's socket is watched through a dup() of its descriptor (libuv watches a descriptor once):
 * the kernel raises EPOLLERR when the RST arrives. The watch is asked for urgent data only
 * (UV_PRIORITIZED): EPOLLERR and EPOLLHUP wake any watcher, and the readable or read-hang-up
 * states the FIN left would wake it again and again.
 */
#ifndef FINWAIT_PROXY_HANGUP_H
#define FINWAIT_PROXY_HANGUP_H

#include "proxy/relay/conn-t.h"

/* Watch leg l of c (its peer's FIN arrived, finwait's has not gone yet). An RST calls
 * conn__peer_reset() with the kernel's reason. 0, or a negative UV_E* code. */
int hangup_watch(struct conn *c, enum leg_id l);
/* Stop watching l (its own FIN went, or it closes); the close is counted in c->pending. */
void hangup_stop(struct conn *c, enum leg_id l);

#endif
