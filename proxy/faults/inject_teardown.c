/* Teardown faults: what happens to a FIN (delay_fin, slow_close, rst_instead_of_fin,
 * break_half_close). */
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
#include "proxy/relay/timeline.h"
#include "rules/fault.h"

/* Withhold the FIN owed to leg l for as long as the connection lives: a reset, idle_timeout
 * or shutdown ends it, and so does l's peer sending its own FIN, since both peers have then
 * closed (conn__maybe_finish sends the held FIN then). */
void inject__hold_fin_forever(struct conn *c, enum leg_id l)
{
    c->legs[l].fin_held_forever = true;
}

const char *inject__fin_towards(enum dir d)
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
        inject__hold_fin_forever(ft->c, dir_dst(d));
        conn__fault_event(ft->c, ft->f->name, dir_src(d), "holding %s forever",
                          inject__fin_towards(d));
        return true;
    }
    conn__fault_event(ft->c, ft->f->name, dir_src(d), "holding %s for %s", inject__fin_towards(d),
                      duration_format(ft->f->delay_ms, dur, sizeof dur));
    inject__timer_start(ft, d, ft->f->delay_ms);
    return true;
}

static void delay_fin_on_timer(struct fault_rt *ft, int i)
{
    ft->holding[i] = false;
    conn__fault_event(ft->c, ft->f->name, dir_dst((enum dir)i), "releasing %s",
                      inject__fin_towards((enum dir)i));
    conn__relay_fin(ft->c, (enum dir)i);
}

/* A FIN held by a fault that leaves is relayed at once. */
void inject__release_fins(struct fault_rt *ft)
{
    for (int d = 0; d < 2 && !ft->c->closing; d++) {
        if (!ft->holding[d])
            continue;
        ft->holding[d] = false;
        ft->c->legs[dir_dst((enum dir)d)].fin_held_forever = false;
        conn__fault_event(ft->c, ft->f->name, dir_dst((enum dir)d), "removed: releasing %s",
                          inject__fin_towards((enum dir)d));
        conn__relay_fin(ft->c, (enum dir)d);
        conn__maybe_finish(ft->c);
    }
}

/* A FIN it holds, else one it has let go (its timer ran), else nothing seen yet. */
static void delay_fin_describe(const struct fault_rt *ft, char *buf, size_t len)
{
    for (int d = 0; d < 2; d++)
        if (ft->holding[d]) {
            snprintf(buf, len, "holding %s%s", inject__fin_towards((enum dir)d),
                     ft->f->delay_ms == DURATION_FOREVER ? " forever" : "");
            return;
        }
    for (int d = 0; d < 2; d++)
        if (ft->timer_open[d]) {
            snprintf(buf, len, "released %s", inject__fin_towards((enum dir)d));
            return;
        }
    snprintf(buf, len, "armed");
}

const struct fault_ops inject__delay_fin_ops = {
    .on_fin = delay_fin_on_fin,
    .on_timer = delay_fin_on_timer,
    .on_detach = inject__release_fins,
    .describe = delay_fin_describe,
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
        inject__timer_start(ft, d, DRAIN_POLL_MS);
        return;
    }
    ft->fired = true;
    conn__fault_event(c, ft->f->name, dst, "RST instead of %s", inject__fin_towards(d));
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

static void rst_fin_describe(const struct fault_rt *ft, char *buf, size_t len)
{
    for (int d = 0; d < 2; d++)
        if (ft->holding[d]) {
            snprintf(buf, len, "holding %s until the bytes before it are sent, then RST",
                     inject__fin_towards((enum dir)d));
            return;
        }
    snprintf(buf, len, "%s", ft->fired ? "fired: RST sent instead of a FIN" : "armed");
}

const struct fault_ops inject__rst_fin_ops = {
    .on_fin = rst_fin_on_fin,
    .on_timer = rst_fin_on_timer,
    .on_detach = inject__release_fins,
    .describe = rst_fin_describe,
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
    inject__timer_start(ft, 0, ft->f->delay_ms);
    return false;
}

static void break_hc_on_timer(struct fault_rt *ft, int i)
{
    (void)i;
    break_hc_fire(ft);
}

static void break_hc_describe(const struct fault_rt *ft, char *buf, size_t len)
{
    if (ft->fired && ft->timer_open[0] && uv_is_active((const uv_handle_t *)&ft->timer[0]))
        snprintf(buf, len, "closing both legs in %llu ms",
                 (unsigned long long)uv_timer_get_due_in(&ft->timer[0]));
    else
        snprintf(buf, len, "%s", ft->fired ? "fired" : "armed");
}

const struct fault_ops inject__break_hc_ops = {
    .on_fin = break_hc_on_fin,
    .on_timer = break_hc_on_timer,
    .describe = break_hc_describe,
};
