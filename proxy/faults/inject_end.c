/* Ending faults: the connection ends mid-stream (reset, close, reset_peer, limit_data), goes
 * silent (blackhole, timeout), or never starts (refuse). */
#include <assert.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/relay/bufpool.h"
#include "proxy/relay/conn.h"
#include "proxy/faults/inject-t.h"
#include "proxy/relay/listener.h"
#include "proxy/log.h"
#include "proxy/faults/packet.h"
#include "proxy/relay/relay.h"
#include "rules/fault.h"

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
            /* No server will ever answer: the client gets its FIN (unless it was reset just
             * above) and what it still sends goes nowhere, so its own FIN ends the
             * connection. Before, it waited for a connect that was cancelled. */
            if (!(c->legs[LEG_CLIENT].flags & LEG_DEAD)) {
                conn__shut_leg(c, LEG_CLIENT);
                conn__discard(c, LEG_CLIENT);
            }
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
        inject__timer_start(ft, 0, ft->f->after_ms);
    return false;
}

static void end_on_connected(struct fault_rt *ft)
{
    const struct fault *f = ft->f;

    if (f->type == FAULT_RESET_PEER) {
        /* Unlike Toxiproxy, an idle connection is reset too: the timer does not wait for data */
        if (f->timeout_ms > 0)
            inject__timer_start(ft, 0, f->timeout_ms);
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
void inject__end_after_bytes(struct fault_rt *ft, enum dir d)
{
    char why[64];

    snprintf(why, sizeof why, "after %llu bytes %s", (unsigned long long)end_limit(ft->f),
             dir_name(d));
    end_fire(ft, why);
}

/* True if an active blackhole or timeout drops the bytes of d. */
static bool silenced(const struct conn *c, enum dir d)
{
    for (const struct fault_rt *ft = c->inj->head; ft; ft = ft->next)
        if (ft->ops == &inject__silence_ops && ft->active && !ft->detached && applies(ft->f, d))
            return true;
    return false;
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
    if (len > room)
        conn__dropped(c, d, len - room, NULL);
    if (ft->ending[d]) {
        buf_unref(b);
        return true;
    }
    if (room > 0 && silenced(c, d)) {
        /* a blackhole or timeout drops what passes the limit too: only the end goes on.
         * Writing these bytes delivered a stream's tail without its head. */
        conn__dropped(c, d, room, NULL);
        room = 0;
    }
    if (c->inj->shape[d]) {
        /* a shaping fault still holds earlier bytes of d: these go behind them, and so does
         * the end, or it would overtake (and cut off) bytes within the limit */
        ft->ending[d] = true;
        if (room > 0)
            inject__shaper_push(c, d, buf_ref(b), (size_t)room, NULL);
        buf_unref(b);
        if (!c->closing)
            inject__shaper_push(c, d, NULL, 0, ft);
        return true;
    }
    if (room > 0)
        conn__write(c, d, buf_ref(b), 0, (size_t)room);
    buf_unref(b);
    inject__end_after_bytes(ft, d);
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

/* Fired, or how far it is from firing: its byte count or its timer. */
static void end_describe(const struct fault_rt *ft, char *buf, size_t len)
{
    const struct fault *f = ft->f;

    if (ft->fired) {
        snprintf(buf, len, "fired");
        return;
    }
    for (int d = 0; d < 2; d++) {
        if (ft->ending[d]) {
            snprintf(buf, len, "limit reached: ending after the shaped bytes before it");
            return;
        }
    }
    if (f->type == FAULT_LIMIT_DATA || f->has_after_bytes) {
        for (int d = 0; d < 2; d++)
            if (applies(f, (enum dir)d)) {
                snprintf(buf, len, "armed: %llu of %llu bytes %s",
                         (unsigned long long)ft->counted[d], (unsigned long long)end_limit(f),
                         dir_name((enum dir)d));
                return;
            }
    }
    if (ft->timer_open[0] && uv_is_active((const uv_handle_t *)&ft->timer[0])) {
        snprintf(buf, len, "armed: fires in %llu ms",
                 (unsigned long long)uv_timer_get_due_in(&ft->timer[0]));
        return;
    }
    snprintf(buf, len, "armed");
}

const struct fault_ops inject__end_ops = {
    .on_accept = end_on_accept,
    .on_connected = end_on_connected,
    .on_data = end_on_data,
    .on_timer = end_on_timer,
    .on_detach = end_on_detach,
    .describe = end_describe,
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
        inject__timer_start(ft, 0, ft->f->after_ms);
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
        inject__timer_start(ft, 0, ft->f->timeout_ms);
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
    conn__dropped(c, d, len, NULL);
    buf_unref(b);
    return true;
}

static bool silence_on_fin(struct fault_rt *ft, enum dir d)
{
    if (!ft->active || !applies(ft->f, d))
        return false;
    ft->holding[d] = true;
    inject__hold_fin_forever(ft->c, dir_dst(d));
    conn__fault_event(ft->c, ft->f->name, dir_src(d), "swallowing %s", inject__fin_towards(d));
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
    inject__release_fins(ft);
}

static void silence_describe(const struct fault_rt *ft, char *buf, size_t len)
{
    int n;

    if (ft->fired) {
        snprintf(buf, len, "fired: connection closed");
        return;
    }
    if (!ft->active) {
        snprintf(buf, len, "armed");
        return;
    }
    n = snprintf(buf, len, "dropping %s data",
                 ft->f->direction == FAULT_DIR_BOTH       ? "all"
                 : ft->f->direction == FAULT_DIR_UPSTREAM ? "upstream"
                                                          : "downstream");
    for (int d = 0; d < 2 && n > 0 && (size_t)n < len; d++)
        if (ft->holding[d])
            n += snprintf(buf + n, len - (size_t)n, ", swallowed %s",
                          inject__fin_towards((enum dir)d));
}

const struct fault_ops inject__silence_ops = {
    .on_accept = silence_on_accept,
    .on_connected = silence_on_connected,
    .on_data = silence_on_data,
    .on_fin = silence_on_fin,
    .on_timer = silence_on_timer,
    .on_detach = silence_on_detach,
    .describe = silence_describe,
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

static void refuse_describe(const struct fault_rt *ft, char *buf, size_t len)
{
    snprintf(buf, len, "fired: refused with %s", ft->f->mode == REFUSE_RESET ? "an RST" : "a FIN");
}

const struct fault_ops inject__refuse_ops = {
    .on_accept = refuse_on_accept,
    .describe = refuse_describe,
};
