/*
 * Packet engine (Linux, CAP_NET_ADMIN): drops FIN segments and final ACKs of chosen
 * flows through NFQUEUE. Only sockets that carry the engine's mark are queued, so
 * every other flow keeps full speed.
 *
 * Lifecycle of one faulted leg:
 *   1. before connect() (server leg) or right after accept() (client leg), the
 *      proxy sets SO_MARK = packet_engine_mark() on the socket;
 *   2. once the 4-tuple is known, packet_flow_add();
 *   3. the engine reports each segment of the close it drops or passes (event_cb)
 *      and, exactly once, that it is done with the flow (done_cb): after that it
 *      never touches ctx again. The close of the socket itself does not end the
 *      flow: a LAST_ACK or TIME_WAIT socket lives on in the kernel.
 */
#ifndef FINWAIT_PROXY_PACKET_H
#define FINWAIT_PROXY_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "rules/config.h"

struct packet_engine;
struct packet_flow;

/* What the engine did with one segment of a faulted flow's close. */
struct packet_event {
    bool dropped;      /* true: dropped (verdict DROP); false: passed */
    bool from_finwait; /* sent by finwait's socket (else by the peer) */
    const char *what;  /* "FIN", "final ACK", ... */
    char flags[8];     /* "FA", "A", "RA"...: TCP flags as tcpdump spells them */
    uint32_t seq_rel;  /* sequence number relative to the sender's ISN (as in textbooks) */
    uint32_t ack_rel;  /* acknowledgement relative to the receiver's ISN */
    unsigned nth;      /* 1 for the first time this segment was seen, 2 for its retransmission... */
    uint64_t t_ns;     /* uv_hrtime() when the engine took the segment from the queue: the
                          clock of the connection's other events */
};

typedef void (*packet_event_cb)(void *ctx, const struct packet_event *ev);
typedef void (*packet_done_cb)(void *ctx);

/*
 * Start the engine on `loop`: check privileges and the iptables binaries, remove
 * chains left by dead finwait processes, bind a free queue number, install this
 * process's chain, poll the queue in the loop. On failure returns a negative
 * UV_E* code and writes one clear sentence to `err` (what is missing and how to
 * grant it).
 */
int packet_engine_open(uv_loop_t *loop, struct packet_engine **out, char *err, size_t errlen);

/* The SO_MARK value a socket must carry for its packets to be queued. */
uint32_t packet_engine_mark(const struct packet_engine *pe);

/*
 * Start tracking the flow of socket `fd` with packet fault `f` (drop_final_ack or drop_fin;
 * `f` must outlive the flow). Its local address is read from the socket; `peer` is the
 * address it is connected (or about to connect) to, or NULL to read it from the socket.
 * Adding the flow before connect() means no segment of it can slip by unseen. Returns 0 or
 * a negative UV_E* code.
 */
int packet_flow_add(struct packet_engine *pe, int fd, const struct sockaddr *peer,
                    const struct fault *f, packet_event_cb ev_cb, packet_done_cb done_cb, void *ctx,
                    struct packet_flow **out);

/*
 * Judge the segments the queue holds now, without waiting for the loop to poll it: a caller
 * about to record an event of its own calls this first, so that the events of segments that
 * came before are recorded before it, in the order things happened (and those segments are
 * held no longer than that).
 */
void packet_engine_poll(struct packet_engine *pe);

/*
 * Remove the rules, release held packets (accept), call done_cb of every flow still
 * tracked, stop polling and free the engine once its handles are closed.
 */
void packet_engine_close(struct packet_engine *pe);

/*
 * `finwait --cleanup`: remove every finwait chain (of any pid, in IPv4 and IPv6) and every
 * rule that jumps to one. `report` gets one line per chain removed ("" if there was none).
 * Returns 0 or a negative UV_E* code with one sentence in `err`.
 */
int packet_cleanup_all(char *report, size_t reportlen, char *err, size_t errlen);

#endif
