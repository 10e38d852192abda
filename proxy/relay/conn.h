/*
 * A proxied connection: the client leg, the server leg, and the relay of each direction
 * with its half-close state. A FIN is relayed as a FIN after the data before it, an RST as
 * an RST; the other direction keeps flowing.
 */
#ifndef FINWAIT_PROXY_CONN_H
#define FINWAIT_PROXY_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "proxy/relay/conn-t.h"

struct buf;
struct listener;

/* Most bytes queued for a destination before its source stops being read. */
#define CONN_WRITE_QUEUE_LIMIT (64 * 1024)

/* Start the connection of client `fd`, just accepted on l's listening socket (c owns fd). */
void conn_accept(struct listener *l, int fd);

/* Reset both legs of c and close it (server shutdown after shutdown_timeout). */
void conn_abort(struct conn *c, const char *why);
/* End c as Toxiproxy ends a disabled proxy's connections: a FIN to both peers after what
 * finwait already read, then whatever they still send is dropped. */
void conn_end(struct conn *c, const char *why);

/* The kernel's TCP state of finwait's socket on leg l, as the log prints it ("CLOSE_WAIT"). */
const char *conn_leg_state(struct conn *c, enum leg_id l);
/* The socket of leg l, or -1 when it has none (not connected yet, or closed). */
int conn_leg_fd(struct conn *c, enum leg_id l);

/* Milliseconds since c was accepted. */
double conn_elapsed_ms(const struct conn *c);
const char *conn_proxy_name(const struct conn *c);
const char *leg_name(enum leg_id l);
const char *dir_name(enum dir d);

/* --- for the faults (inject.c) --- */

/* Write len bytes at b->data + off to d's destination; takes over one reference of b. */
void conn__write(struct conn *c, enum dir d, struct buf *b, size_t off, size_t len);
/* Send the FIN of direction d to its destination (after the queued data). */
void conn__relay_fin(struct conn *c, enum dir d);
/* FIN on leg l after its queued writes, unless already sent. */
void conn__shut_leg(struct conn *c, enum leg_id l);
/* Reset leg l (RST to its peer). The leg is closed with the connection. */
void conn__reset_leg(struct conn *c, enum leg_id l, const char *why);
/* Give up the server leg: reset it if connected, else cancel the connect (refuse, or a fault
 * that fires before the server answered). */
void conn__abandon_server(struct conn *c, const char *why);
/* Throw away what arrives on leg l from now on (it is being closed); keeps reading so the
 * peer's FIN is still seen. */
void conn__discard(struct conn *c, enum leg_id l);
void conn__pause(struct conn *c, enum dir d, enum pause_reason why);
void conn__resume(struct conn *c, enum dir d, enum pause_reason why);
/* Close the connection if nothing more can flow. Never frees c at once: handles close
 * asynchronously. */
void conn__maybe_finish(struct conn *c);
/* Log (and record in the timeline) that a fault acted: "delay_fin: holding the FIN for 2s". */
void conn__fault_event(struct conn *c, const char *fault_name, enum leg_id l, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same for what happened to a fault, not what it did ("added to this open connection"):
 * logged, but the verdicts do not take the connection for one the fault acted on. */
void conn__fault_note(struct conn *c, const char *fault_name, enum leg_id l, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* One more callback to wait for before c may be freed (a fault's timer, a packet flow). */
void conn__hold(struct conn *c);
/* That callback came; may free c (returns 1 then). */
int conn__release(struct conn *c);

/* Move d off the splice path, if it is on it: what is in the pipe is written first, then
 * d's bytes are read by libuv again. May close c. */
void conn__unsplice(struct conn *c, enum dir d);

/* len bytes of d will never reach the destination: drawn as stopped at finwait with `why`
 * (NULL: "dropped by a fault"), and logged at debug. */
void conn__dropped(struct conn *c, enum dir d, size_t len, const char *why);

/* --- for the splice path (splice.c) --- */

/* len bytes of d reached the destination's kernel: counted in the log, drawn in the
 * timeline (conn__write does this for the bytes it writes). */
void conn__delivered(struct conn *c, enum dir d, size_t len);

/* d's source sent its FIN and every byte before it was written. */
void conn__splice_fin(struct conn *c, enum dir d);
/* The peer of leg l reset (err: the kernel's reason, from the failing call or SO_ERROR): what
 * it sent before is delivered, then the reset is relayed (conn.c's table). May close c. */
void conn__peer_reset(struct conn *c, enum leg_id l, int err);
/* The wait of ackwait.c on leg l is over: status 0 (its peer's kernel has everything),
 * UV_ETIMEDOUT (no progress for ACKWAIT_STALL_MS) or the error of l's own reset. Closes c. */
void conn__acked(struct conn *c, enum leg_id l, int status);

/* Free the pooled write requests (at exit, so leak checkers see a clean heap). */
void conn__drain_pools(void);

#endif
