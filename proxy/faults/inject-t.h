/*
 * The fault runtime's own types, shared by the dispatcher (inject.c) and the fault families:
 * teardown faults (inject_teardown.c), ending faults (inject_end.c), shaping faults
 * (inject_shape.c) and packet faults (inject_packet.c). Nothing outside proxy/inject*.c
 * includes it.
 */
#ifndef FINWAIT_PROXY_INJECT_T_H
#define FINWAIT_PROXY_INJECT_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "proxy/relay/conn-t.h"
#include "rules/config.h"

struct buf;
struct cfg_gen;
struct packet_flow;

/* Bytes a shaping queue may hold before its source is paused (a bandwidth-delay product). */
#define SHAPE_QUEUE_LIMIT (1024 * 1024)
/* The due time of bytes a bandwidth of rate 0 holds: never, until it changes or leaves. */
#define STALLED_US (UINT64_MAX / 4)
/* How often a fault waiting for the kernel to send queued bytes looks again. */
#define DRAIN_POLL_MS 2

struct fault_rt;

struct fault_ops {
    /* right after accept; true: the connection was ended (refuse) */
    bool (*on_accept)(struct fault_rt *ft);
    /* the server leg is connected */
    void (*on_connected)(struct fault_rt *ft);
    /* bytes read from d's source; true: taken (dropped or written by the fault) */
    bool (*on_data)(struct fault_rt *ft, enum dir d, struct buf *b, size_t len);
    /* d's FIN, after the bytes before it; true: the fault relays it (or never does) */
    bool (*on_fin)(struct fault_rt *ft, enum dir d);
    /* timer[i] fired */
    void (*on_timer)(struct fault_rt *ft, int i);
    /* the fault reaches a connection that is already open (a reload added it), after
     * on_accept and on_connected: start what the accept or the connect would have started */
    void (*on_attach)(struct fault_rt *ft);
    /* the fault leaves a connection it had reached (a reload removed it): let go of what
     * it holds, as the README's fault tables say */
    void (*on_detach)(struct fault_rt *ft);
    /* shaping: turn the queued pieces from `first` on into pieces with due times; it may
     * split pieces (pieces_split) but never moves the queue, so `first` stays valid for the
     * next shaping fault */
    void (*shape)(struct fault_rt *ft, enum dir d, size_t first);
    /* what the fault is doing on its connection now, in a few words ("holding the client's
     * FIN to the server", "armed", "fired"), for the admin API; NULL: "armed" until `fired` */
    void (*describe)(const struct fault_rt *ft, char *buf, size_t len);
};

/*
 * One applied fault of one connection. Allocated one by one and linked in configuration
 * order, because a reload attaches and detaches faults while the connection lives: a
 * detached one leaves the list at once and is freed when its timers have closed.
 */
struct fault_rt {
    const struct fault *f;
    const struct fault_ops *ops;
    struct conn *c;
    struct cfg_gen *gen;   /* held: f belongs to it */
    struct fault_rt *next; /* the connection's next fault, in configuration order */
    int timers_closing;    /* timer closes still to call back */
    bool detached;         /* left the connection: freed once timers_closing is 0 */
    bool holding[2];       /* the FIN of that direction waits for this fault */
    uv_timer_t timer[2];   /* per direction where the fault needs one, else [0] */
    bool timer_open[2];
    uint64_t counted[2];  /* bytes seen per direction (after_bytes, limit_data) */
    uint64_t last_due[2]; /* shaping: due time (us) of the last piece, to keep order */
    bool active;          /* blackhole/timeout: dropping */
    /* after_bytes/limit_data, per direction: the limit is reached and the end is queued
     * behind the shaped bytes before it; what comes later is dropped */
    bool ending[2];
    bool fired;                  /* a one-shot fault has acted */
    struct packet_flow *flow[2]; /* packet faults, per leg */
};

/* A piece of a chunk waiting for its due time; b == NULL marks the FIN, or with `end` the
 * point where that fault ends the connection (its byte limit). */
struct piece {
    struct buf *b;
    struct fault_rt *end;
    bool cancelled; /* the end of a fault that was detached since: nothing to do */
    uint32_t off;
    uint32_t len;
    uint64_t due_us;
};

struct shaper {
    struct piece *v; /* v[head..n) are queued */
    size_t head, n, cap;
    size_t bytes; /* bytes queued */
    uv_timer_t timer;
};

struct inject {
    struct conn *c;
    struct shaper *shape[2]; /* per direction, once a shaping fault applied to it */
    struct fault_rt *head;   /* the faults that apply now, in configuration order */
};

static inline bool applies(const struct fault *f, enum dir d)
{
    return f->direction & (d == DIR_UPSTREAM ? FAULT_DIR_UPSTREAM : FAULT_DIR_DOWNSTREAM);
}

/* Microseconds since the connection was accepted: the shaping queues' clock. */
static inline uint64_t now_us(const struct conn *c)
{
    return uv_hrtime() / 1000 - c->t0_ns / 1000;
}

/* --- the dispatcher (inject.c) --- */

/* Start (or restart) timer i of ft: ops->on_timer(ft, i) in `ms`. */
void inject__timer_start(struct fault_rt *ft, int i, uint64_t ms);
/* The FIN of d came out of the shaping queue (or there was none): the FIN faults decide. */
void inject__fin_after_shaping(struct conn *c, enum dir d);

/* --- teardown faults (inject_teardown.c): delay_fin, slow_close, rst_instead_of_fin,
 * break_half_close --- */

extern const struct fault_ops inject__delay_fin_ops, inject__rst_fin_ops, inject__break_hc_ops;
void inject__hold_fin_forever(struct conn *c, enum leg_id l);
const char *inject__fin_towards(enum dir d);
/* The FINs ft holds go out now (ft is leaving). */
void inject__release_fins(struct fault_rt *ft);

/* --- ending faults (inject_end.c): reset, close, reset_peer, limit_data, blackhole, timeout,
 * refuse --- */

extern const struct fault_ops inject__end_ops, inject__silence_ops, inject__refuse_ops;
/* The byte limit of d was reached and every byte before it has been handed over. */
void inject__end_after_bytes(struct fault_rt *ft, enum dir d);

/* --- shaping faults (inject_shape.c): latency, bandwidth, slicer --- */

extern const struct fault_ops inject__latency_ops, inject__bandwidth_ops, inject__slicer_ops;
/* Queue a chunk (b != NULL), the FIN (b == NULL) or the end of fault `end` (b == NULL) and
 * shape it with every shaping fault of d in configuration order. */
void inject__shaper_push(struct conn *c, enum dir d, struct buf *b, size_t len,
                         struct fault_rt *end);
/* Bytes of d must go through the shaping queue. */
bool inject__shaper_needed(const struct inject *inj, enum dir d);
/* Shaping fault ft left or changed: what is queued is written now, in order. */
void inject__shaping_release(struct fault_rt *ft);

/* --- packet faults (inject_packet.c): drop_final_ack, drop_fin --- */

extern const struct fault_ops inject__packet_ops;
enum leg_id inject__packet_leg(const struct fault *f);
/* Why packet fault f cannot watch open connection c's leg, or NULL when it can. */
const char *inject__packet_unreachable(const struct conn *c, const struct fault *f);
void inject__packet_register(struct fault_rt *ft, enum leg_id l, int fd,
                             const struct sockaddr *peer);

#endif
