/*
 * Teardown verdicts: what an application did wrong at the end of its connections, judged
 * from the facts finwait records between the peers. Pure C (no libuv): the relay fills a
 * struct verdict_facts per connection (proxy/relay/facts.c), these detectors read it.
 *
 * Every detector looks at one wire signature (README, "Teardown verdicts"):
 *
 *   kind                    signature at finwait
 *   peer_keeps_closed       finwait sent a FIN on a leg; the peer sent nothing (no FIN, no byte,
 *                           no RST) for `peer_keeps_closed` (5 s)
 *   close_wait_leak         the same for `close_wait_leak` (60 s, Linux's tcp_fin_timeout)
 *   request_into_closed     the server's FIN, then client bytes within `request_into_closed`
 *                           (10 ms) of it or after finwait relayed it, then the server's RST
 *                           and no answer
 *   answer_lost             an RST from a peer with no FIN before it, while bytes were still
 *                           flowing to it after its answer began, or (no answer) within
 *                           `answer_lost` (100 ms) of the last byte sent to it
 *   half_close_ignored      client bytes, the client's FIN, then the server's FIN with no byte
 *                           after the client's last request, on a connection where the server
 *                           had answered before
 *   abandoned               `abandoned_count` (10) connections of one client, both legs open,
 *                           no byte either way for `abandoned` (60 s)
 *   time_wait_pressure      `time_wait_per_minute` (2500) connections of one client in a minute
 *                           whose first FIN came from the client (it holds them in TIME_WAIT)
 *   client_timeout_shorter  the client's FIN with a request outstanding, the answer after it,
 *                           then an RST from the client
 */
#ifndef FINWAIT_RULES_VERDICT_H
#define FINWAIT_RULES_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum verdict_kind {
    VK_PEER_KEEPS_CLOSED,      /* a peer holds a connection finwait closed (5 s) */
    VK_CLOSE_WAIT_LEAK,        /* ... for longer than tcp_fin_timeout (60 s) */
    VK_REQUEST_INTO_CLOSED,    /* a request sent into a connection the server closed */
    VK_ANSWER_LOST,            /* a peer closed with unread data: its answer may be lost */
    VK_HALF_CLOSE_IGNORED,     /* the server closed on the client's FIN without answering */
    VK_ABANDONED,              /* a client keeps many idle connections open */
    VK_TIME_WAIT_PRESSURE,     /* a client closes first, at a rate its ports feel */
    VK_CLIENT_TIMEOUT_SHORTER, /* the client gave up before the server answered */
    VK_COUNT
};

/* Which peer a finding is about. */
enum verdict_side {
    VSIDE_CLIENT, /* the peer on finwait's client leg */
    VSIDE_SERVER, /* the peer on finwait's server leg */
};

/* The thresholds of one proxy's `verdicts:` block (defaults in verdict_cfg_default). */
struct verdict_cfg {
    bool on[VK_COUNT];
    uint64_t peer_keeps_closed_ms;   /* 5000 */
    uint64_t close_wait_leak_ms;     /* 60000 */
    uint64_t request_into_closed_ms; /* 10: client bytes this soon after the server's FIN
                                        count as sent into it (the FIN was on its way) */
    uint64_t answer_lost_ms;         /* 100: an RST this soon after the last byte sent to the
                                        peer, no answer since, is a close with unread data */
    uint64_t abandoned_ms;           /* 60000 */
    uint64_t abandoned_count;        /* 10 */
    uint64_t time_wait_per_minute;   /* 2500 */
    /* how a client coped with a fault (rules/coping.h) */
    uint64_t retry_within_ms; /* 5000: a new connection this soon after its close is a retry */
    uint64_t hung_after_ms;   /* 10000: nothing from it this long after the fault: it hangs */
};

void verdict_cfg_default(struct verdict_cfg *vc);
const char *verdict_kind_name(enum verdict_kind k);
bool verdict_kind_lookup(const char *name, enum verdict_kind *out);
const char *verdict_side_name(enum verdict_side s);

/* --- the facts of one connection, as the relay records them --- */

#define VF_NONE (-1.0) /* an event that did not happen (times are ms since accept) */

/* One leg's teardown, on the connection's clock. */
struct vf_leg {
    double established_ms;  /* accepted (client leg) or connected (server leg) */
    double fin_received_ms; /* the peer's FIN arrived */
    double fin_sent_ms;     /* finwait's FIN left */
    double rst_received_ms; /* the peer reset the leg */
    double rst_sent_ms;     /* finwait reset it */
};

/* Bytes in one direction, consecutive deliveries merged (a request, an answer). */
struct vf_burst {
    double first_ms; /* the first byte of the burst reached the destination's kernel */
    double last_ms;  /* its last byte did */
    uint64_t bytes;
    int dir;    /* 0: client -> server (upstream), 1: server -> client (downstream) */
    bool early; /* downstream: the server began it while the client's bytes before it were
                   still on their way to the server (an answer before the whole upload) */
};

#define VF_BURSTS                                                                                  \
    8 /* the detectors look at the last few: a request, its answer, what came after                \
       */

struct verdict_facts {
    struct vf_leg legs[2]; /* [0] client leg, [1] server leg */
    /* The latest VF_BURSTS bursts, oldest first; earlier ones are counted in dropped. */
    struct vf_burst bursts[VF_BURSTS];
    unsigned nbursts;
    unsigned dropped;
    uint64_t bytes[2];        /* per direction, delivered */
    double last_data_ms[2];   /* per direction, the latest delivery, or VF_NONE */
    bool answered;            /* a downstream burst followed an upstream one at least once */
    bool early_pending;       /* the next downstream burst is early (verdict_facts_early) */
    uint64_t undelivered[2];  /* per direction, bytes the destination's reset refused */
    double undelivered_ms[2]; /* when the latest of them was refused, or VF_NONE */
    char fault[48];           /* the name of the last fault that acted on the connection, or
                                 "": a copy, as a reload may free the configuration it is in */
    double fault_ms;          /* when it acted */
    unsigned reported;        /* bit per enum verdict_kind already found on this connection */
};

void verdict_facts_init(struct verdict_facts *f);
void verdict_facts_leg_established(struct verdict_facts *f, int leg, double t_ms);
/* A leg event: which is "fin_received", "fin_sent", "rst_received" or "rst_sent". */
void verdict_facts_leg_event(struct verdict_facts *f, int leg, const char *which, double t_ms);
/* `bytes` of direction `dir` (0 upstream, 1 downstream) reached the destination's kernel. */
void verdict_facts_data(struct verdict_facts *f, int dir, uint64_t bytes, double t_ms);
/* The server's next answer was read while the client's bytes were still on their way to the
 * server: its downstream burst is early (see struct vf_burst). */
void verdict_facts_early(struct verdict_facts *f);
/* `bytes` of direction `dir` were never delivered: the destination's socket broke (reset). */
void verdict_facts_undelivered(struct verdict_facts *f, int dir, uint64_t bytes, double t_ms);
/* A configured fault acted (its name is copied). */
void verdict_facts_fault(struct verdict_facts *f, const char *name, double t_ms);

/* --- findings --- */

/* One number of the evidence: key (static) and value. */
struct verdict_num {
    const char *key;
    double value;
};

#define VERDICT_NUMS 6

struct finding {
    enum verdict_kind kind;
    enum verdict_side side;
    double t_ms; /* on the connection's clock */
    struct verdict_num nums[VERDICT_NUMS];
    int nnums;
    char why[400]; /* one sentence of what happened and what to do */
    const char
        *expected; /* the fault that caused it (the facts' copy), or NULL: the application's */
};

/*
 * Judge one connection at `now_ms` (its clock). `ended`: the connection is over (both legs
 * finished), so what has not happened will not. Writes at most `max` new findings to out
 * (kinds already in f->reported are skipped; the caller marks what it keeps) and returns
 * how many.
 */
int verdict_judge(const struct verdict_cfg *vc, const struct verdict_facts *f, double now_ms,
                  bool ended, struct finding *out, int max);

/* --- what is judged over many connections of a proxy --- */

/* One open connection, for the abandoned detector. */
struct verdict_open {
    const char *client; /* the client's address without its port */
    double idle_ms;     /* since the last byte either way */
    bool established;   /* both legs open, no FIN nor RST on either */
};

/*
 * The abandoned detector over a proxy's open connections: per client with at least
 * vc->abandoned_count connections idle for vc->abandoned_ms, one finding (side client).
 * `clients_out[i]` gets the index in `open` of one of that client's connections.
 */
int verdict_judge_abandoned(const struct verdict_cfg *vc, const struct verdict_open *open, size_t n,
                            struct finding *out, size_t *clients_out, int max);

/*
 * The TIME_WAIT rate of one client: a fixed one-minute window. verdict_rate_add() counts a
 * connection whose first FIN came from the client, at wall-clock ms `now`; it returns true
 * (and fills *out) once per window when the count reaches vc->time_wait_per_minute.
 */
struct verdict_rate {
    double window_start_ms;
    uint64_t count;
    bool reported; /* in this window */
};
bool verdict_rate_add(const struct verdict_cfg *vc, struct verdict_rate *r, double now_ms,
                      struct finding *out);

#endif
