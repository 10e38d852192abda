/*
 * Types of a proxied connection, shared by the relay (conn.c) and the faults that act
 * on it (inject.c). Everything else uses the functions of conn.h.
 */
#ifndef FINWAIT_PROXY_CONN_T_H
#define FINWAIT_PROXY_CONN_T_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct listener;
struct cfg_gen;
struct proxy_cfg;
struct inject;
struct timeline;
struct splicer;
struct hangup;
struct ackwait;
struct resolve_req;
struct dial;
struct proxy_stats;

/* The two TCP connections finwait holds for one proxied connection. */
enum leg_id {
    LEG_CLIENT, /* client <-> finwait (accepted) */
    LEG_SERVER, /* finwait <-> server (connected) */
};

/* The two directions bytes (and FINs) flow in. */
enum dir {
    DIR_UPSTREAM,   /* client -> server: read on the client leg, written on the server leg */
    DIR_DOWNSTREAM, /* server -> client: read on the server leg, written on the client leg */
};

/*
 * Half-close state of one leg, as finwait's socket on that leg sees it. Set only by
 * conn__leg_set(), which also logs the event with the kernel's TCP state.
 *
 *   flag              meaning                                        the socket is then
 *   LEG_FIN_RECEIVED  the peer's FIN arrived: it will send nothing     CLOSE_WAIT (or LAST_ACK,
 *                     more on this leg                                  TIME_WAIT if FIN_SENT)
 *   LEG_SHUT_PENDING  finwait asked for its FIN (uv_shutdown); it       -
 *                     leaves after the queued writes
 *   LEG_FIN_SENT      finwait's FIN left: nothing more is written       FIN_WAIT1/2, LAST_ACK
 *   LEG_RST_RECEIVED  the peer reset the connection                    gone
 *   LEG_RST_SENT      finwait reset it (SO_LINGER {1,0} then close)     gone
 *
 * A leg is finished when it can carry nothing more either way: both FINs, or a reset.
 */
enum leg_flag {
    LEG_FIN_RECEIVED = 1 << 0,
    LEG_SHUT_PENDING = 1 << 1,
    LEG_FIN_SENT = 1 << 2,
    LEG_RST_RECEIVED = 1 << 3,
    LEG_RST_SENT = 1 << 4,
};
#define LEG_DEAD (LEG_RST_RECEIVED | LEG_RST_SENT)

struct leg {
    uv_tcp_t tcp;
    uv_shutdown_t shut;
    unsigned flags;        /* enum leg_flag */
    bool open;             /* tcp was initialised and not closed yet */
    bool reading;          /* uv_read_start() is in effect */
    bool fin_held_forever; /* a fault withholds the FIN owed to this leg's peer for as long
                              as the connection lives: until both peers have sent their FIN */
    bool discard;          /* data read on this leg is thrown away (it is being closed) */
    bool fin_sent_first;   /* finwait closed this leg first: it ends in TIME_WAIT */
};

/* Why reading a source is paused; reading resumes when no reason is left. */
enum pause_reason {
    PAUSE_BACKPRESSURE = 1 << 0, /* the destination's write queue is over the limit */
    PAUSE_SHAPING = 1 << 1,      /* a shaping fault (latency, bandwidth, slicer) holds enough */
    PAUSE_CONNECTING = 1 << 2,   /* the server leg is not connected yet */
};

struct dirstate {
    uint64_t bytes_in;  /* read from the source */
    uint64_t bytes_out; /* handed to the destination's kernel */
    unsigned paused;    /* enum pause_reason */
};

struct conn {
    struct listener *l;             /* held: its rng and packet mark outlive a reload */
    const struct proxy_cfg *p;      /* the proxy's settings when it was accepted */
    struct cfg_gen *gen;            /* held: p and the faults belong to it */
    struct proxy_stats *stats;      /* held: the counters of its proxy's name (at accept) */
    uint64_t id;                    /* per proxy, from 1 */
    uint64_t t0_ns;                 /* uv_hrtime() at accept */
    struct sockaddr_storage client; /* the client's address, for the `match` of a fault
                                       attached later */
    uint64_t last_activity_ms;      /* uv_now() of the last byte relayed, for idle_timeout */
    struct leg legs[2];             /* enum leg_id */
    struct dirstate dirs[2];        /* enum dir */
    uv_timer_t timer;               /* connect_timeout, then idle_timeout */
    struct resolve_req *dns;        /* the upstream name's lookup (hosts file, DNS), or NULL */
    struct dial *dial;              /* connection attempts to the server in flight, or NULL */
    struct inject *inj;             /* faults that apply, or NULL */
    struct splicer *splice[2];      /* per direction, when its bytes move by splice(2) */
    struct hangup *hangup[2];       /* per leg: watches for an RST after the peer's FIN */
    struct ackwait *ackwait;        /* a peer reset: finwait waits until the other peer's
                                       kernel has what was owed to it, then resets that leg */
    struct timeline *tl;            /* recorded events (NULL only when out of memory) */
    struct conn *prev, *next;       /* the server's list of open connections */
    int pending;    /* handle closes, requests and packet flows still to call back */
    bool closing;   /* conn_close() ran: callbacks only release what they hold */
    bool connected; /* the server leg is established */
    bool tl_print;  /* log.timeline was on at accept: tl is printed when c is freed */
};

static inline enum leg_id dir_src(enum dir d)
{
    return d == DIR_UPSTREAM ? LEG_CLIENT : LEG_SERVER;
}

static inline enum leg_id dir_dst(enum dir d)
{
    return d == DIR_UPSTREAM ? LEG_SERVER : LEG_CLIENT;
}

/* The direction whose source is leg l. */
static inline enum dir leg_out_dir(enum leg_id l)
{
    return l == LEG_CLIENT ? DIR_UPSTREAM : DIR_DOWNSTREAM;
}

#endif
