/*
 * Faults in action. Each fault type is a small ops table; the relay calls the hooks of every
 * fault that applies to a connection, in configuration order. rules/ already rejected the
 * combinations that make no sense (two faults deciding the same FIN), so at most one fault
 * takes over a given FIN, while data faults compose: a blackhole drops before a latency
 * delays, latency then bandwidth then slicer shape the bytes in the order configured.
 *
 * Shaping faults (latency, bandwidth, slicer) turn each chunk read into pieces with a due
 * time, queued per direction and written by a timer. A FIN waits behind the queued pieces,
 * so the bytes before it always arrive first.
 */
#include "proxy/inject.h"

#include <assert.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/bufpool.h"
#include "proxy/conn.h"
#include "proxy/listener.h"
#include "proxy/log.h"
#include "proxy/packet.h"
#include "proxy/server.h"
#include "proxy/timeline.h"
#include "rules/fault.h"
#include "rules/plan.h"

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
    /* the fault leaves a connection it had reached (a reload removed it): let go of what
     * it holds, as the README's fault tables say */
    void (*on_detach)(struct fault_rt *ft);
    /* shaping: turn the queued pieces from `first` on into pieces with due times; it may
     * split pieces (pieces_split) but never moves the queue, so `first` stays valid for the
     * next shaping fault */
    void (*shape)(struct fault_rt *ft, enum dir d, size_t first);
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

static bool applies(const struct fault *f, enum dir d)
{
    return f->direction & (d == DIR_UPSTREAM ? FAULT_DIR_UPSTREAM : FAULT_DIR_DOWNSTREAM);
}

static uint64_t now_us(const struct conn *c)
{
    return uv_hrtime() / 1000 - c->t0_ns / 1000;
}

static void on_rt_timer(uv_timer_t *t);

static void rt_timer_start(struct fault_rt *ft, int i, uint64_t ms)
{
    if (!ft->timer_open[i]) {
        uv_timer_init(ft->c->legs[LEG_CLIENT].tcp.loop, &ft->timer[i]);
        ft->timer[i].data = ft;
        ft->timer_open[i] = true;
    }
    uv_timer_start(&ft->timer[i], on_rt_timer, ms, 0);
}

static void on_rt_timer(uv_timer_t *t)
{
    struct fault_rt *ft = t->data;
    int i = t == &ft->timer[0] ? 0 : 1;

    if (ft->c->closing || ft->detached)
        return;
    ft->ops->on_timer(ft, i);
}

/* Withhold the FIN owed to leg l for as long as the connection lives: a reset, idle_timeout
 * or shutdown ends it, and so does l's peer sending its own FIN, since both peers have then
 * closed (conn__maybe_finish sends the held FIN then). */
static void hold_fin_forever(struct conn *c, enum leg_id l)
{
    c->legs[l].fin_held_forever = true;
}

static const char *fin_towards(enum dir d)
{
    return d == DIR_UPSTREAM ? "the client's FIN to the server" : "the server's FIN to the client";
}

/* --- delay_fin, slow_close: hold a FIN for a while, or forever --- */

static bool delay_fin_on_fin(struct fault_rt *ft, enum dir d)
{
    char dur[32];

    if (!applies(ft->f, d))
        return false;
    ft->holding[d] = true;
    if (ft->f->delay_ms == DURATION_FOREVER) {
        hold_fin_forever(ft->c, dir_dst(d));
        conn__fault_event(ft->c, ft->f->name, dir_src(d), "holding %s forever", fin_towards(d));
        return true;
    }
    conn__fault_event(ft->c, ft->f->name, dir_src(d), "holding %s for %s", fin_towards(d),
                      duration_format(ft->f->delay_ms, dur, sizeof dur));
    rt_timer_start(ft, d, ft->f->delay_ms);
    return true;
}

static void delay_fin_on_timer(struct fault_rt *ft, int i)
{
    ft->holding[i] = false;
    conn__fault_event(ft->c, ft->f->name, dir_dst((enum dir)i), "releasing %s",
                      fin_towards((enum dir)i));
    conn__relay_fin(ft->c, (enum dir)i);
}

/* A FIN held by a fault that leaves is relayed at once. */
static void release_fins(struct fault_rt *ft)
{
    for (int d = 0; d < 2 && !ft->c->closing; d++) {
        if (!ft->holding[d])
            continue;
        ft->holding[d] = false;
        ft->c->legs[dir_dst((enum dir)d)].fin_held_forever = false;
        conn__fault_event(ft->c, ft->f->name, dir_dst((enum dir)d), "removed: releasing %s",
                          fin_towards((enum dir)d));
        conn__relay_fin(ft->c, (enum dir)d);
        conn__maybe_finish(ft->c);
    }
}

static const struct fault_ops delay_fin_ops = {
    .on_fin = delay_fin_on_fin,
    .on_timer = delay_fin_on_timer,
    .on_detach = release_fins,
};

/* --- rst_instead_of_fin --- */

/* True when every byte for leg l has left finwait's socket: an RST would otherwise discard
 * them, and the fault promises the bytes before the FIN. */
static bool leg_drained(struct conn *c, enum leg_id l)
{
    uv_os_fd_t fd;
    int outq = 0;

    if (c->legs[l].tcp.write_queue_size > 0)
        return false;
    if (uv_fileno((uv_handle_t *)&c->legs[l].tcp, &fd) != 0)
        return true;
    if (ioctl(fd, SIOCOUTQ, &outq) != 0)
        return true;
    return outq == 0;
}

static void rst_fin_fire(struct fault_rt *ft, enum dir d)
{
    struct conn *c = ft->c;
    enum leg_id dst = dir_dst(d);

    ft->holding[d] = false;
    if (!c->legs[dst].open)
        return;
    if (!leg_drained(c, dst)) {
        ft->holding[d] = true;
        rt_timer_start(ft, d, DRAIN_POLL_MS);
        return;
    }
    conn__fault_event(c, ft->f->name, dst, "RST instead of %s", fin_towards(d));
    conn__reset_leg(c, dst, ft->f->name);
    /* Nothing can come back from a reset peer: the FIN's sender gets our FIN once what was
     * already on its way to it is written. */
    conn__shut_leg(c, dir_src(d));
    conn__discard(c, dir_src(d));
    conn__maybe_finish(c);
}

static bool rst_fin_on_fin(struct fault_rt *ft, enum dir d)
{
    if (!applies(ft->f, d))
        return false;
    rst_fin_fire(ft, d);
    return true;
}

static void rst_fin_on_timer(struct fault_rt *ft, int i)
{
    rst_fin_fire(ft, (enum dir)i);
}

static const struct fault_ops rst_fin_ops = {
    .on_fin = rst_fin_on_fin,
    .on_timer = rst_fin_on_timer,
    .on_detach = release_fins,
};

/* --- break_half_close: one FIN closes both legs --- */

static void break_hc_fire(struct fault_rt *ft)
{
    struct conn *c = ft->c;

    conn__fault_event(c, ft->f->name, LEG_CLIENT,
                      "no half-close: FIN to both legs, nothing more relayed");
    for (int l = 0; l < 2; l++) {
        conn__shut_leg(c, (enum leg_id)l);
        conn__discard(c, (enum leg_id)l);
    }
    conn__maybe_finish(c);
}

/* With a delay the FIN is relayed as usual and the legs are closed `delay` later, like a
 * proxy that gives a half-closed connection that long: an answer slower than that is lost. */
static bool break_hc_on_fin(struct fault_rt *ft, enum dir d)
{
    char dur[32];

    if (ft->fired)
        return false;
    ft->fired = true;
    if (ft->f->delay_ms == 0) {
        break_hc_fire(ft);
        return true;
    }
    conn__fault_event(ft->c, ft->f->name, dir_src(d), "closing both legs in %s",
                      duration_format(ft->f->delay_ms, dur, sizeof dur));
    rt_timer_start(ft, 0, ft->f->delay_ms);
    return false;
}

static void break_hc_on_timer(struct fault_rt *ft, int i)
{
    (void)i;
    break_hc_fire(ft);
}

static const struct fault_ops break_hc_ops = {
    .on_fin = break_hc_on_fin,
    .on_timer = break_hc_on_timer,
};

/* --- reset, close, reset_peer, limit_data: end the connection mid-stream --- */

static bool is_reset(const struct fault *f)
{
    return f->type == FAULT_RESET || f->type == FAULT_RESET_PEER;
}

/* Which legs receive the end: reset/close say `to`; reset_peer resets the peer its stream
 * flows to; limit_data closes both, as Toxiproxy does. */
static unsigned end_targets(const struct fault *f)
{
    if (f->type == FAULT_RESET || f->type == FAULT_CLOSE)
        return f->to;
    if (f->type == FAULT_RESET_PEER) {
        unsigned to = 0;
        if (f->direction & FAULT_DIR_UPSTREAM)
            to |= FAULT_TO_SERVER;
        if (f->direction & FAULT_DIR_DOWNSTREAM)
            to |= FAULT_TO_CLIENT;
        return to;
    }
    return FAULT_TO_BOTH;
}

static void shaper_push(struct conn *c, enum dir d, struct buf *b, size_t len,
                        struct fault_rt *end);

static void end_fire(struct fault_rt *ft, const char *why)
{
    struct conn *c = ft->c;
    unsigned to = end_targets(ft->f);
    bool rst = is_reset(ft->f);

    if (ft->fired)
        return;
    ft->fired = true;
    conn__fault_event(c, ft->f->name, LEG_CLIENT, "%s: %s to %s%s", why, rst ? "RST" : "FIN",
                      to == FAULT_TO_BOTH     ? "both legs"
                      : to == FAULT_TO_CLIENT ? "the client"
                                              : "the server",
                      rst && to != FAULT_TO_BOTH ? ", FIN to the other" : "");
    for (int l = 0; l < 2; l++) {
        unsigned bit = l == LEG_CLIENT ? FAULT_TO_CLIENT : FAULT_TO_SERVER;
        bool target = to & bit;

        if (l == LEG_SERVER && !c->connected) {
            conn__abandon_server(c, ft->f->name);
            continue;
        }
        if (rst && target) {
            conn__reset_leg(c, (enum leg_id)l, ft->f->name);
        } else if (rst || target) {
            /* graceful: FIN after what is queued, and nothing more relayed to this peer;
             * what it still sends is read and dropped so its own FIN is seen */
            conn__shut_leg(c, (enum leg_id)l);
            if (rst || to == FAULT_TO_BOTH)
                conn__discard(c, (enum leg_id)l);
        }
    }
    conn__maybe_finish(c);
}

static bool end_on_accept(struct fault_rt *ft)
{
    /* `after` counts from accept; reset_peer's timeout from connect (on_connected) */
    if ((ft->f->type == FAULT_RESET || ft->f->type == FAULT_CLOSE) && !ft->f->has_after_bytes &&
        ft->f->after_ms > 0)
        rt_timer_start(ft, 0, ft->f->after_ms);
    return false;
}

static void end_on_connected(struct fault_rt *ft)
{
    const struct fault *f = ft->f;

    if (f->type == FAULT_RESET_PEER) {
        /* Unlike Toxiproxy, an idle connection is reset too: the timer does not wait for data */
        if (f->timeout_ms > 0)
            rt_timer_start(ft, 0, f->timeout_ms);
        else
            end_fire(ft, "reset_peer");
        return;
    }
    if ((f->type == FAULT_RESET || f->type == FAULT_CLOSE) && !f->has_after_bytes &&
        f->after_ms == 0)
        end_fire(ft, "after 0ms");
    else if ((f->has_after_bytes && f->after_bytes == 0) ||
             (f->type == FAULT_LIMIT_DATA && f->bytes == 0))
        end_fire(ft, "after 0 bytes");
}

static void end_on_timer(struct fault_rt *ft, int i)
{
    char dur[32], why[64];
    uint64_t ms = ft->f->type == FAULT_RESET_PEER ? ft->f->timeout_ms : ft->f->after_ms;

    (void)i;
    snprintf(why, sizeof why, "after %s", duration_format(ms, dur, sizeof dur));
    end_fire(ft, why);
}

static uint64_t end_limit(const struct fault *f)
{
    return f->type == FAULT_LIMIT_DATA ? f->bytes : f->after_bytes;
}

/* The byte limit of d was reached and every byte before it has been handed over. */
static void end_after_bytes(struct fault_rt *ft, enum dir d)
{
    char why[64];

    snprintf(why, sizeof why, "after %llu bytes %s", (unsigned long long)end_limit(ft->f),
             dir_name(d));
    end_fire(ft, why);
}

static bool end_on_data(struct fault_rt *ft, enum dir d, struct buf *b, size_t len)
{
    const struct fault *f = ft->f;
    struct conn *c = ft->c;
    uint64_t room;

    if (ft->fired || !applies(f, d) || (f->type != FAULT_LIMIT_DATA && !f->has_after_bytes))
        return false;
    room = ft->ending[d] ? 0 : end_limit(f) - ft->counted[d];
    if (len < room) {
        ft->counted[d] += len;
        return false;
    }
    /* Exactly `limit` bytes pass, then the end. */
    ft->counted[d] = end_limit(f);
    if (c->tl && len > room)
        timeline_add(&c->tl, conn_elapsed_ms(c), TL_DROP, dir_src(d), true, len - room, NULL, NULL);
    if (ft->ending[d]) {
        buf_unref(b);
        return true;
    }
    if (c->inj->shape[d]) {
        /* a shaping fault still holds earlier bytes of d: these go behind them, and so does
         * the end, or it would overtake (and cut off) bytes within the limit */
        ft->ending[d] = true;
        if (room > 0)
            shaper_push(c, d, buf_ref(b), (size_t)room, NULL);
        buf_unref(b);
        if (!c->closing)
            shaper_push(c, d, NULL, 0, ft);
        return true;
    }
    if (room > 0)
        conn__write(c, d, buf_ref(b), 0, (size_t)room);
    buf_unref(b);
    end_after_bytes(ft, d);
    return true;
}

/* A byte limit's end queued behind shaped bytes does not happen once the fault is gone. */
static void end_on_detach(struct fault_rt *ft)
{
    for (int d = 0; d < 2; d++) {
        struct shaper *s = ft->c->inj->shape[d];
        for (size_t i = s ? s->head : 0; s && i < s->n; i++)
            if (s->v[i].end == ft)
                s->v[i].cancelled = true;
    }
}

static const struct fault_ops end_ops = {
    .on_accept = end_on_accept,
    .on_connected = end_on_connected,
    .on_data = end_on_data,
    .on_timer = end_on_timer,
    .on_detach = end_on_detach,
};

/* --- blackhole, timeout: silence --- */

static void silence_start(struct fault_rt *ft)
{
    char dur[32] = "";

    ft->active = true;
    if (ft->f->type == FAULT_TIMEOUT && ft->f->timeout_ms)
        duration_format(ft->f->timeout_ms, dur, sizeof dur);
    conn__fault_event(ft->c, ft->f->name, LEG_CLIENT, "dropping %s data, no FIN%s%s",
                      ft->f->direction == FAULT_DIR_BOTH       ? "all"
                      : ft->f->direction == FAULT_DIR_UPSTREAM ? "upstream"
                                                               : "downstream",
                      dur[0] ? "; closing in " : "", dur);
}

static bool silence_on_accept(struct fault_rt *ft)
{
    if (ft->f->type == FAULT_BLACKHOLE && ft->f->after_ms > 0)
        rt_timer_start(ft, 0, ft->f->after_ms);
    return false;
}

static void silence_on_connected(struct fault_rt *ft)
{
    if (ft->f->type == FAULT_BLACKHOLE) {
        if (ft->f->after_ms == 0)
            silence_start(ft);
        return;
    }
    /* timeout: drop from the start; close after `timeout` whether data flows or not */
    silence_start(ft);
    if (ft->f->timeout_ms)
        rt_timer_start(ft, 0, ft->f->timeout_ms);
}

static void silence_on_timer(struct fault_rt *ft, int i)
{
    char dur[32], why[64];

    (void)i;
    if (ft->f->type == FAULT_BLACKHOLE) {
        silence_start(ft);
        return;
    }
    snprintf(why, sizeof why, "timeout %s", duration_format(ft->f->timeout_ms, dur, sizeof dur));
    end_fire(ft, why);
}

static bool silence_on_data(struct fault_rt *ft, enum dir d, struct buf *b, size_t len)
{
    struct conn *c = ft->c;

    if (!ft->active || !applies(ft->f, d))
        return false;
    if (c->tl)
        timeline_add(&c->tl, conn_elapsed_ms(c), TL_DROP, dir_src(d), true, len, NULL, NULL);
    buf_unref(b);
    return true;
}

static bool silence_on_fin(struct fault_rt *ft, enum dir d)
{
    if (!ft->active || !applies(ft->f, d))
        return false;
    ft->holding[d] = true;
    hold_fin_forever(ft->c, dir_dst(d));
    conn__fault_event(ft->c, ft->f->name, dir_src(d), "swallowing %s", fin_towards(d));
    return true;
}

/* Removing a blackhole lets later bytes through (and the FIN it swallowed); removing a
 * Toxiproxy timeout closes the connection, as Toxiproxy does. */
static void silence_on_detach(struct fault_rt *ft)
{
    if (ft->f->type == FAULT_TIMEOUT) {
        end_fire(ft, "timeout removed");
        return;
    }
    ft->active = false;
    release_fins(ft);
}

static const struct fault_ops silence_ops = {
    .on_accept = silence_on_accept,
    .on_connected = silence_on_connected,
    .on_data = silence_on_data,
    .on_fin = silence_on_fin,
    .on_timer = silence_on_timer,
    .on_detach = silence_on_detach,
};

/* --- refuse --- */

static bool refuse_on_accept(struct fault_rt *ft)
{
    struct conn *c = ft->c;

    conn__abandon_server(c, ft->f->name);
    if (ft->f->mode == REFUSE_RESET) {
        conn__fault_event(c, ft->f->name, LEG_CLIENT, "refusing: RST at once");
        conn__reset_leg(c, LEG_CLIENT, ft->f->name);
    } else {
        conn__fault_event(c, ft->f->name, LEG_CLIENT, "refusing: FIN before any data");
        conn__shut_leg(c, LEG_CLIENT);
        conn__discard(c, LEG_CLIENT);
    }
    conn__maybe_finish(c);
    return true;
}

static const struct fault_ops refuse_ops = {
    .on_accept = refuse_on_accept,
};

/* --- shaping: latency, bandwidth, slicer --- */

static struct shaper *shaper_of(struct fault_rt *ft, enum dir d);

/*
 * Room for `more` pieces at the end of s->v. It may move the array but never the pieces
 * within it: a shaping fault holds the index of the piece it is splitting across this call.
 */
static int pieces_grow(struct shaper *s, size_t more)
{
    struct piece *v;
    size_t cap;

    if (s->n + more <= s->cap)
        return 0;
    cap = s->cap ? s->cap : 16;
    while (cap < s->n + more)
        cap *= 2;
    v = realloc(s->v, cap * sizeof *v);
    if (!v)
        return UV_ENOMEM;
    s->v = v;
    s->cap = cap;
    return 0;
}

/*
 * Drop the written pieces v[0..head) when they are at least half of a full array, so that
 * the array is reused instead of growing with every chunk. Indices into the queue change:
 * only for shaper_push, before it queues a chunk, when no one holds one.
 */
static void pieces_compact(struct shaper *s)
{
    if (s->head == s->n) {
        s->head = s->n = 0;
        return;
    }
    if (s->n < s->cap || s->head < s->n / 2)
        return;
    memmove(s->v, s->v + s->head, (s->n - s->head) * sizeof *s->v);
    s->n -= s->head;
    s->head = 0;
}

/* Insert `k` empty pieces after index i (i is the piece being split). */
static int pieces_split(struct shaper *s, size_t i, size_t k)
{
    assert(i >= s->head && i < s->n);
    if (pieces_grow(s, k) < 0)
        return UV_ENOMEM;
    memmove(s->v + i + 1 + k, s->v + i + 1, (s->n - i - 1) * sizeof *s->v);
    s->n += k;
    return 0;
}

static void latency_shape(struct fault_rt *ft, enum dir d, size_t first)
{
    struct shaper *s = shaper_of(ft, d);
    const struct fault *f = ft->f;

    for (size_t i = first; i < s->n; i++) {
        int64_t delay = (int64_t)f->latency_ms * 1000;
        uint64_t due;

        if (f->jitter_ms) {
            int64_t j = (int64_t)f->jitter_ms * 1000;
            delay += (int64_t)fault_rng_below(&ft->c->l->rng, (uint64_t)(2 * j + 1)) - j;
            if (delay < 0)
                delay = 0;
        }
        due = s->v[i].due_us + (uint64_t)delay;
        if (due < ft->last_due[d])
            due = ft->last_due[d]; /* bytes never overtake each other */
        s->v[i].due_us = ft->last_due[d] = due;
    }
}

static void bandwidth_shape(struct fault_rt *ft, enum dir d, size_t first)
{
    struct shaper *s = shaper_of(ft, d);
    uint64_t bytes_per_s = ft->f->rate_kbps * 1000;
    /* pieces of at most 100 ms worth, so the rate is smooth, not bursty */
    uint64_t step = bytes_per_s / 10 ? bytes_per_s / 10 : 1;

    if (bytes_per_s == 0) { /* Toxiproxy's rate 0: the bytes wait until the rate changes */
        for (size_t i = first; i < s->n; i++)
            if (s->v[i].b)
                s->v[i].due_us = ft->last_due[d] = STALLED_US;
        return;
    }

    for (size_t i = first; i < s->n; i++) {
        struct piece *p = &s->v[i];
        uint64_t start;

        if (!p->b)
            continue;
        if (p->len > step) {
            size_t k = (p->len - 1) / step;
            if (pieces_split(s, i, k) < 0)
                return;
            p = &s->v[i];
            for (size_t j = 1; j <= k; j++) {
                struct piece *q = &s->v[i + j];
                *q = *p;
                q->off = p->off + (uint32_t)(j * step);
                q->len = (uint32_t)(j == k ? p->len - j * step : step);
                buf_ref(q->b);
            }
            p->len = (uint32_t)step;
        }
        start = p->due_us > ft->last_due[d] ? p->due_us : ft->last_due[d];
        p->due_us = ft->last_due[d] = start + p->len * 1000000ull / bytes_per_s;
    }
}

static void slicer_shape(struct fault_rt *ft, enum dir d, size_t first)
{
    struct shaper *s = shaper_of(ft, d);
    const struct fault *f = ft->f;

    for (size_t i = first; i < s->n; i++) {
        struct piece *p = &s->v[i];
        uint32_t left, off;
        uint64_t due;
        size_t k = 0;

        if (!p->b)
            continue;
        /* cut p into slices of average_size +- size_variation, `delay` apart (a read is at
         * most BUF_SIZE bytes, so the sizes fit; the loop is single-threaded) */
        static uint32_t sizes[BUF_SIZE];
        uint32_t sizes_len = 0;
        left = p->len;
        while (left > 0) {
            /* signed: Toxiproxy accepts a size_variation larger than average_size */
            int64_t sz = (int64_t)f->average_size;
            if (f->size_variation)
                sz += (int64_t)fault_rng_below(&ft->c->l->rng, 2 * f->size_variation + 1) -
                      (int64_t)f->size_variation;
            if (sz < 1)
                sz = 1;
            if (sz > (int64_t)left)
                sz = left;
            sizes[sizes_len++] = (uint32_t)sz;
            left -= (uint32_t)sz;
        }
        k = sizes_len - 1;
        if (k > 0 && pieces_split(s, i, k) < 0)
            return;
        p = &s->v[i];
        off = p->off;
        due = p->due_us > ft->last_due[d] ? p->due_us : ft->last_due[d];
        for (size_t j = 0; j <= k; j++) {
            struct piece *q = &s->v[i + j];
            if (j > 0) {
                *q = *p;
                buf_ref(q->b);
                due += f->delay_us;
            }
            q->off = off;
            q->len = sizes[j];
            q->due_us = due;
            off += sizes[j];
        }
        ft->last_due[d] = due;
        i += k;
    }
}

static void shaping_on_detach(struct fault_rt *ft);

static const struct fault_ops latency_ops = {.shape = latency_shape,
                                             .on_detach = shaping_on_detach};
static const struct fault_ops bandwidth_ops = {.shape = bandwidth_shape,
                                               .on_detach = shaping_on_detach};
static const struct fault_ops slicer_ops = {.shape = slicer_shape, .on_detach = shaping_on_detach};

static struct shaper *shaper_of(struct fault_rt *ft, enum dir d)
{
    return ft->c->inj->shape[d];
}

static void on_shaper_timer(uv_timer_t *t);

static void fin_after_shaping(struct conn *c, enum dir d);

/* Write the pieces that are due; re-arm for the next one. */
static void shaper_run(struct conn *c, enum dir d)
{
    struct shaper *s = c->inj->shape[d];
    uv_stream_t *dst = (uv_stream_t *)&c->legs[dir_dst(d)].tcp;
    uint64_t now = now_us(c);

    while (s->head < s->n && !c->closing) {
        struct piece *p = &s->v[s->head];

        if (p->due_us >= STALLED_US)
            break; /* until the bandwidth changes or leaves */
        if (p->due_us > now) {
            uint64_t ms = (p->due_us - now + 999) / 1000;
            uv_timer_start(&s->timer, on_shaper_timer, ms, 0);
            break;
        }
        if (p->b && dst->write_queue_size > CONN_WRITE_QUEUE_LIMIT) {
            /* the destination does not keep up: wait rather than queue without bound */
            uv_timer_start(&s->timer, on_shaper_timer, DRAIN_POLL_MS, 0);
            break;
        }
        s->head++;
        if (!p->b && p->cancelled)
            continue;
        if (!p->b && p->end) {
            end_after_bytes(p->end, d);
            continue;
        }
        if (!p->b) {
            fin_after_shaping(c, d);
            continue;
        }
        s->bytes -= p->len;
        conn__write(c, d, p->b, p->off, p->len);
    }
    if (s->bytes < SHAPE_QUEUE_LIMIT / 2 && (c->dirs[d].paused & PAUSE_SHAPING) && !c->closing)
        conn__resume(c, d, PAUSE_SHAPING);
}

static void on_shaper_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    struct shaper *up = c->inj->shape[DIR_UPSTREAM];

    if (c->closing)
        return;
    shaper_run(c, up && t == &up->timer ? DIR_UPSTREAM : DIR_DOWNSTREAM);
}

/* Queue a chunk (b != NULL), the FIN (b == NULL) or the end of fault `end` (b == NULL), and
 * shape it with every shaping fault of d in configuration order. */
static void shaper_push(struct conn *c, enum dir d, struct buf *b, size_t len, struct fault_rt *end)
{
    struct inject *inj = c->inj;
    struct shaper *s = inj->shape[d];
    size_t first;

    pieces_compact(s);
    if (pieces_grow(s, 1) < 0) {
        if (b)
            buf_unref(b);
        conn_abort(c, "out of memory");
        return;
    }
    first = s->n;
    s->v[s->n++] =
        (struct piece){.b = b, .end = end, .off = 0, .len = (uint32_t)len, .due_us = now_us(c)};
    s->bytes += len;
    for (struct fault_rt *ft = inj->head; ft; ft = ft->next) {
        /* a FIN is delayed like a byte by latency; bandwidth and slicer do not slow it */
        if (ft->ops->shape && applies(ft->f, d) && (b || ft->f->type == FAULT_LATENCY))
            ft->ops->shape(ft, d, first);
        else if (ft->ops->shape && applies(ft->f, d) && !b && s->v[first].due_us < ft->last_due[d])
            s->v[first].due_us = ft->last_due[d];
    }
    if (s->bytes > SHAPE_QUEUE_LIMIT)
        conn__pause(c, d, PAUSE_SHAPING);
    if (!uv_is_active((uv_handle_t *)&s->timer))
        shaper_run(c, d);
}

/* Whether a shaping fault applies to d now. */
static bool shaping(const struct inject *inj, enum dir d)
{
    for (const struct fault_rt *ft = inj->head; ft; ft = ft->next)
        if (ft->ops->shape && applies(ft->f, d))
            return true;
    return false;
}

/* Bytes of d must go through the shaping queue: a shaping fault applies, or the queue still
 * holds bytes (they go first). */
static bool shaper_needed(const struct inject *inj, enum dir d)
{
    const struct shaper *s = inj->shape[d];

    return s && (s->head < s->n || shaping(inj, d));
}

/* A shaping fault left (ft is already off the list) or changed: what it queued is written
 * now, in order; the faults there shape what is read from now on. */
static void shaping_on_detach(struct fault_rt *ft)
{
    struct conn *c = ft->c;

    for (int d = 0; d < 2 && !c->closing; d++) {
        struct shaper *s = c->inj->shape[d];
        uint64_t now = now_us(c);

        if (!s || !applies(ft->f, (enum dir)d))
            continue;
        for (size_t i = s->head; i < s->n; i++)
            if (s->v[i].due_us > now)
                s->v[i].due_us = now;
        for (struct fault_rt *o = c->inj->head; o; o = o->next)
            if (o->last_due[d] > now)
                o->last_due[d] = now;
        uv_timer_stop(&s->timer);
        shaper_run(c, (enum dir)d);
    }
}

/* --- packet faults: mark the socket, register the flow, report its segments --- */

static enum leg_id packet_leg(const struct fault *f)
{
    return f->leg == FAULT_LEG_CLIENT ? LEG_CLIENT : LEG_SERVER;
}

static void packet_on_event(void *ctx, const struct packet_event *ev)
{
    struct fault_rt *ft = ctx;
    struct conn *c = ft->c;
    enum leg_id l = packet_leg(ft->f);
    /* stamped by the engine when it read the segment, on the connection's clock */
    double t = (double)(ev->t_ns - c->t0_ns) / 1e6;
    char text[200];

    snprintf(text, sizeof text, "%s %s%s [%s] Seq=%u Ack=%u from %s%s",
             ev->dropped ? "dropped" : "passed", ev->what, ev->nth > 1 ? " (retransmission)" : "",
             ev->flags, ev->seq_rel, ev->ack_rel, ev->from_finwait ? "finwait" : leg_name(l),
             ev->nth > 1 ? "" : "");
    if (LOG_ENABLED(LOG_LEVEL_INFO)) {
        struct log_kv kv[] = {
            {"fault", ft->f->name, 0},
            {"verdict", ev->dropped ? "drop" : "pass", 0},
            {"segment", ev->what, 0},
            {"flags", ev->flags, 0},
            {"seq", NULL, ev->seq_rel},
            {"ack", NULL, ev->ack_rel},
            {"from", ev->from_finwait ? "finwait" : "peer", 0},
            {"nth", NULL, ev->nth},
        };
        log__conn(LOG_LEVEL_INFO, conn_proxy_name(c), c->id, t, "packet", leg_name(l), NULL, text,
                  kv, 8);
    }
    if (c->tl)
        timeline_add(&c->tl, t, TL_PACKET, l, !ev->from_finwait, 0, NULL, text);
}

static void packet_on_done(void *ctx)
{
    struct fault_rt *ft = ctx;
    enum leg_id l = packet_leg(ft->f);

    ft->flow[l] = NULL;
    conn__release(ft->c);
}

/*
 * A server leg is watched before it connects, so that no segment can pass before the flow is
 * known: bind it to the source address the kernel would pick (asked with a UDP socket, which
 * sends nothing) and an ephemeral port, and give the engine the server's address.
 */
static int bind_source(int fd, const struct sockaddr *peer)
{
    struct sockaddr_storage src;
    socklen_t len = sizeof src;
    socklen_t plen =
        peer->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    int u = socket(peer->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

    if (u < 0)
        return -errno;
    if (connect(u, peer, plen) != 0 || getsockname(u, (struct sockaddr *)&src, &len) != 0)
        r = -errno;
    close(u);
    if (r == 0) {
        if (src.ss_family == AF_INET)
            ((struct sockaddr_in *)&src)->sin_port = 0;
        else
            ((struct sockaddr_in6 *)&src)->sin6_port = 0;
        if (bind(fd, (struct sockaddr *)&src, len) != 0)
            r = -errno;
    }
    return r;
}

static void packet_register(struct fault_rt *ft, enum leg_id l, int fd, const struct sockaddr *peer)
{
    struct conn *c = ft->c;
    struct packet_engine *pe = c->l->srv->pe;
    int r = 0;

    if (!pe || ft->flow[l])
        return;
    if (peer)
        r = bind_source(fd, peer);
    if (r == 0)
        r = packet_flow_add(pe, fd, peer, ft->f, packet_on_event, packet_on_done, ft, &ft->flow[l]);
    if (r < 0) {
        LOG(LOG_LEVEL_WARN, conn_proxy_name(c), "packet", "#%llu: cannot watch the %s leg: %s",
            (unsigned long long)c->id, leg_name(l), uv_strerror(r));
        return;
    }
    conn__hold(c); /* the flow may outlive the sockets: LAST_ACK and TIME_WAIT live on */
}

static const struct fault_ops packet_ops = {0};

/* --- the table and the hooks --- */

static const struct fault_ops *const ops_by_type[FAULT_TYPE_COUNT] = {
    [FAULT_DELAY_FIN] = &delay_fin_ops,
    [FAULT_SLOW_CLOSE] = &delay_fin_ops,
    [FAULT_RST_INSTEAD_OF_FIN] = &rst_fin_ops,
    [FAULT_BREAK_HALF_CLOSE] = &break_hc_ops,
    [FAULT_RESET] = &end_ops,
    [FAULT_CLOSE] = &end_ops,
    [FAULT_RESET_PEER] = &end_ops,
    [FAULT_LIMIT_DATA] = &end_ops,
    [FAULT_BLACKHOLE] = &silence_ops,
    [FAULT_TIMEOUT] = &silence_ops,
    [FAULT_REFUSE] = &refuse_ops,
    [FAULT_LATENCY] = &latency_ops,
    [FAULT_BANDWIDTH] = &bandwidth_ops,
    [FAULT_SLICER] = &slicer_ops,
    [FAULT_DROP_FINAL_ACK] = &packet_ops,
    [FAULT_DROP_FIN] = &packet_ops,
};

static void rt_free(struct fault_rt *ft)
{
    cfg_gen_unref(ft->gen);
    free(ft);
}

static int shaper_open(struct conn *c, enum dir d)
{
    struct inject *inj = c->inj;

    if (inj->shape[d])
        return 0;
    inj->shape[d] = calloc(1, sizeof *inj->shape[d]);
    if (!inj->shape[d])
        return UV_ENOMEM;
    uv_timer_init(c->timer.loop, &inj->shape[d]->timer);
    inj->shape[d]->timer.data = c;
    return 0;
}

/* The shaping queues a shaping fault needs (a reload may widen its direction). */
static int rt_shapers(struct fault_rt *ft)
{
    for (int d = 0; d < 2; d++)
        if (ft->ops->shape && applies(ft->f, (enum dir)d) && shaper_open(ft->c, (enum dir)d) < 0)
            return UV_ENOMEM;
    return 0;
}

/* Append fault f (of generation gen) to c's faults. NULL when out of memory. */
static struct fault_rt *rt_add(struct conn *c, const struct fault *f, struct cfg_gen *gen)
{
    struct fault_rt *ft = calloc(1, sizeof *ft), **tail;

    if (!ft)
        return NULL;
    ft->f = f;
    ft->ops = ops_by_type[f->type];
    ft->c = c;
    ft->gen = cfg_gen_ref(gen);
    if (rt_shapers(ft) < 0) {
        rt_free(ft);
        return NULL;
    }
    for (tail = &c->inj->head; *tail; tail = &(*tail)->next)
        ;
    *tail = ft;
    return ft;
}

static struct inject *inject_alloc(struct conn *c)
{
    if (!c->inj) {
        c->inj = calloc(1, sizeof *c->inj);
        if (c->inj)
            c->inj->c = c;
    }
    return c->inj;
}

int inject_new(struct conn *c, uint64_t mask)
{
    const struct proxy_cfg *p = c->p;

    if (!inject_alloc(c))
        return UV_ENOMEM;
    for (size_t i = 0; i < p->nfaults && i < FAULTS_MAX; i++)
        if ((mask & (1ull << i)) && !rt_add(c, &p->faults[i], c->gen))
            return UV_ENOMEM;
    return 0;
}

bool inject_on_accept(struct conn *c)
{
    for (struct fault_rt *ft = c->inj->head; ft && !c->closing; ft = ft->next)
        if (ft->ops->on_accept && ft->ops->on_accept(ft))
            return true;
    return c->closing;
}

bool inject_on_socket(struct conn *c, enum leg_id l, int fd, const struct sockaddr *peer)
{
    struct packet_engine *pe = c->l->srv->pe;
    uint32_t mark;

    if (!pe)
        return false;
    for (struct fault_rt *ft = c->inj->head; ft; ft = ft->next) {
        const struct fault *f = ft->f;
        if (!fault_type_is_packet(f->type) || packet_leg(f) != l)
            continue;
        mark = packet_engine_mark(pe);
        if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0)
            LOG(LOG_LEVEL_WARN, conn_proxy_name(c), "packet", "#%llu: SO_MARK on the %s leg: %m",
                (unsigned long long)c->id, leg_name(l));
        packet_register(ft, l, fd, peer);
        return true;
    }
    return false;
}

void inject_on_connected(struct conn *c)
{
    for (struct fault_rt *ft = c->inj->head; ft && !c->closing; ft = ft->next)
        if (ft->ops->on_connected)
            ft->ops->on_connected(ft);
}

bool inject_on_data(struct conn *c, enum dir d, struct buf *b, size_t len)
{
    struct inject *inj = c->inj;

    for (struct fault_rt *ft = inj->head; ft; ft = ft->next) {
        if (ft->ops->on_data && ft->ops->on_data(ft, d, b, len))
            return true;
        if (c->closing) {
            buf_unref(b);
            return true;
        }
    }
    if (!shaper_needed(inj, d))
        return false;
    shaper_push(c, d, b, len, NULL);
    return true;
}

/* The FIN of d has come out of the shaping queue (or there was none): the FIN faults. */
static void fin_after_shaping(struct conn *c, enum dir d)
{
    for (struct fault_rt *ft = c->inj->head; ft; ft = ft->next) {
        if (ft->ops->on_fin && ft->ops->on_fin(ft, d)) {
            conn__maybe_finish(c);
            return;
        }
    }
    conn__relay_fin(c, d);
}

bool inject_on_fin(struct conn *c, enum dir d)
{
    if (shaper_needed(c->inj, d))
        shaper_push(c, d, NULL, 0, NULL);
    else
        fin_after_shaping(c, d);
    return true;
}

bool inject_busy(const struct conn *c, enum dir d)
{
    return c->inj && (c->inj->head || shaper_needed(c->inj, d));
}

static void on_shaper_closed(uv_handle_t *h)
{
    conn__release(h->data);
}

static void on_rt_timer_closed(uv_handle_t *h)
{
    struct fault_rt *ft = h->data;
    struct conn *c = ft->c;

    if (--ft->timers_closing == 0 && ft->detached)
        rt_free(ft);
    conn__release(c);
}

static void rt_close_timers(struct fault_rt *ft)
{
    for (int t = 0; t < 2; t++) {
        if (!ft->timer_open[t])
            continue;
        ft->timer_open[t] = false;
        ft->timers_closing++;
        conn__hold(ft->c);
        uv_close((uv_handle_t *)&ft->timer[t], on_rt_timer_closed);
    }
}

/* --- attach and detach on an open connection (a reload changed the proxy's faults) --- */

/*
 * f reaches open connection c. Any fault moves c off the splice path first (what is in the
 * pipe is written before anything else), so that no fault has to know about pipes; c goes
 * back to splicing once no fault is left. Timers and byte counts start now.
 */
static void rt_attach(struct conn *c, const struct fault *f, struct cfg_gen *gen)
{
    struct fault_rt *ft = rt_add(c, f, gen);

    if (!ft) {
        conn_abort(c, "out of memory");
        return;
    }
    conn__fault_event(c, f->name, LEG_CLIENT, "added to this open connection");
    for (int d = 0; d < 2 && !c->closing; d++)
        conn__unsplice(c, (enum dir)d);
    if (!c->closing && ft->ops->on_accept)
        ft->ops->on_accept(ft);
    if (!c->closing && c->connected && ft->ops->on_connected)
        ft->ops->on_connected(ft);
}

/* ft leaves c: off the list at once, freed once its timers have closed. */
static void rt_detach(struct fault_rt *ft)
{
    struct conn *c = ft->c;
    struct fault_rt **pp;

    for (pp = &c->inj->head; *pp != ft; pp = &(*pp)->next)
        ;
    *pp = ft->next;
    ft->next = NULL;
    ft->detached = true;
    if (!c->closing) {
        conn__fault_event(c, ft->f->name, LEG_CLIENT, "removed from this open connection");
        if (ft->ops->on_detach)
            ft->ops->on_detach(ft);
    }
    rt_close_timers(ft);
    if (ft->timers_closing == 0)
        rt_free(ft);
}

/* ft now follows f of generation gen (same name, same type). */
static int rt_move(struct fault_rt *ft, const struct fault *f, struct cfg_gen *gen)
{
    ft->f = f;
    cfg_gen_ref(gen);
    cfg_gen_unref(ft->gen);
    ft->gen = gen;
    return rt_shapers(ft);
}

static struct fault_rt *rt_find(struct inject *inj, const struct fault *f)
{
    for (struct fault_rt *ft = inj ? inj->head : NULL; ft; ft = ft->next)
        if (ft->f == f)
            return ft;
    return NULL;
}

/* f is added or changed: does it reach c? One draw from the proxy's generator. Packet
 * faults mark sockets at accept and `refuse` concerns accepts: both reach new connections
 * only. */
static void rt_maybe_attach(struct conn *c, const struct fault *f, struct cfg_gen *gen)
{
    if (fault_type_is_packet(f->type) || f->type == FAULT_REFUSE)
        return;
    if (!fault_decide_one(f, &c->l->rng, (const struct sockaddr *)&c->client))
        return;
    rt_attach(c, f, gen);
}

/* Position of ft's fault in p, or -1 (a packet fault of an older generation: first). */
static long rt_position(const struct fault_rt *ft, const struct proxy_cfg *p)
{
    for (size_t i = 0; i < p->nfaults; i++)
        if (ft->f == &p->faults[i])
            return (long)i;
    return -1;
}

/* Put c's faults back in the configuration order of p: data faults compose in that order. */
static void rt_sort(struct inject *inj, const struct proxy_cfg *p)
{
    struct fault_rt *sorted = NULL, *ft, *next, **pp;

    for (ft = inj->head; ft; ft = next) {
        next = ft->next;
        for (pp = &sorted; *pp && rt_position(*pp, p) <= rt_position(ft, p); pp = &(*pp)->next)
            ;
        ft->next = *pp;
        *pp = ft;
    }
    inj->head = sorted;
}

void inject_reload(struct conn *c, struct cfg_gen *gen, const struct proxy_cfg *np,
                   const struct plan_fault *steps, size_t n)
{
    const struct proxy_cfg *op = c->p;

    if (c->closing)
        return;
    if (!inject_alloc(c)) {
        conn_abort(c, "out of memory");
        return;
    }
    for (size_t k = 0; k < n && !c->closing; k++) {
        const struct plan_fault *pf = &steps[k];
        const struct fault *of = pf->old_fault != PLAN_NONE ? &op->faults[pf->old_fault] : NULL;
        const struct fault *nf = pf->new_fault != PLAN_NONE ? &np->faults[pf->new_fault] : NULL;
        struct fault_rt *ft = of ? rt_find(c->inj, of) : NULL;

        /* `connections: new` on the fault added or changed, or on the one removed: open
         * connections keep what they have (ft its old settings and generation) */
        if (((pf->action == PLAN_FAULT_ATTACH || pf->action == PLAN_FAULT_CHANGE) &&
             nf->new_only) ||
            (pf->action == PLAN_FAULT_DETACH && of->new_only))
            continue;
        switch (pf->action) {
        case PLAN_FAULT_SAME:
            if (ft && rt_move(ft, nf, gen) < 0)
                conn_abort(c, "out of memory");
            break;
        case PLAN_FAULT_CHANGE:
            if (ft && fault_type_is_packet(ft->f->type))
                break; /* packet faults: open connections keep theirs */
            if (ft && ft->f->type == nf->type) {
                if (rt_move(ft, nf, gen) < 0) {
                    conn_abort(c, "out of memory");
                    break;
                }
                conn__fault_event(c, nf->name, LEG_CLIENT, "changed on this open connection");
                if (ft->ops->shape)
                    shaping_on_detach(ft); /* the new values shape what comes next */
                break;
            }
            /* another type under the same name, or it had not reached c: decided again */
            if (ft)
                rt_detach(ft);
            rt_maybe_attach(c, nf, gen);
            break;
        case PLAN_FAULT_ATTACH:
            rt_maybe_attach(c, nf, gen);
            break;
        case PLAN_FAULT_DETACH:
            if (ft && !fault_type_is_packet(ft->f->type))
                rt_detach(ft);
            break;
        }
    }
    rt_sort(c->inj, np);
    c->p = np;
    cfg_gen_ref(gen);
    cfg_gen_unref(c->gen);
    c->gen = gen;
}

void inject_close(struct conn *c)
{
    struct inject *inj = c->inj;

    if (!inj)
        return;
    for (struct fault_rt *ft = inj->head; ft; ft = ft->next)
        rt_close_timers(ft);
    for (int d = 0; d < 2; d++) {
        struct shaper *s = inj->shape[d];
        if (!s)
            continue;
        conn__hold(c);
        uv_close((uv_handle_t *)&s->timer, on_shaper_closed);
    }
}

void inject_free(struct conn *c)
{
    struct inject *inj = c->inj;

    if (!inj)
        return;
    for (struct fault_rt *ft = inj->head, *next; ft; ft = next) {
        next = ft->next;
        rt_free(ft);
    }
    for (int d = 0; d < 2; d++) {
        struct shaper *s = inj->shape[d];
        if (!s)
            continue;
        for (size_t i = s->head; i < s->n; i++)
            if (s->v[i].b)
                buf_unref(s->v[i].b);
        free(s->v);
        free(s);
    }
    free(inj);
    c->inj = NULL;
}
