#include "proxy/relay/ackwait.h"

#include <stdlib.h>
#include <string.h>

#include "proxy/relay/conn.h"
#include "proxy/relay/tcpinfo.h"

/* First and longest pause between two looks at the send queue: loopback acknowledges in
 * microseconds, a slow reader in seconds. The pause doubles while nothing moves. */
#define TICK_MIN_MS 1
#define TICK_MAX_MS 64

struct ackwait {
    uv_timer_t timer;
    struct conn *c;
    enum leg_id l;
    uint64_t left;        /* what was still on its way at the last look */
    uint64_t progress_ms; /* uv_now() when `left` last went down (or the wait began) */
    uint64_t tick_ms;
};

static void on_tick(uv_timer_t *t);

/*
 * What is still on its way to l's peer: in libuv's queue, the FIN not yet handed to the
 * kernel, and what the kernel has not sent yet. Negative errno when the socket cannot say.
 *
 * Sent, not acknowledged: a direct peer's RST leaves right behind its data, and the receiver
 * keeps readable what arrived before it. Waiting for the acknowledgement too would hold the RST
 * for the receiver's delayed ACK (up to 40 ms; Linux delays the ACK of a FIN that arrives in
 * ESTABLISHED), long enough for a write made after the end to succeed through finwait where
 * it fails directly (the fidelity oracle measured 33-37 ms).
 */
static int64_t on_its_way(struct ackwait *aw)
{
    struct leg *g = &aw->c->legs[aw->l];
    int64_t outq = tcpinfo_unsent(conn_leg_fd(aw->c, aw->l));

    if (outq < 0)
        return outq;
    return outq + (int64_t)g->tcp.write_queue_size +
           ((g->flags & LEG_SHUT_PENDING) && !(g->flags & LEG_FIN_SENT));
}

static void on_tick(uv_timer_t *t)
{
    struct ackwait *aw = t->data;
    struct conn *c = aw->c;
    uint64_t now = uv_now(t->loop);
    int64_t left;

    if (c->closing)
        return;
    left = on_its_way(aw);
    if (left == 0) {
        conn__acked(c, aw->l, 0);
        return;
    }
    if (left < 0 || strcmp(tcpinfo_state(conn_leg_fd(c, aw->l)), "CLOSED") == 0) {
        /* the peer reset meanwhile (what is left will never be acknowledged): its kernel
         * gave the reason */
        int err = tcpinfo_sock_error(conn_leg_fd(c, aw->l));
        conn__acked(c, aw->l, err ? err : UV_ECONNRESET);
        return;
    }
    if ((uint64_t)left < aw->left) {
        aw->progress_ms = now;
        aw->tick_ms = TICK_MIN_MS;
    } else if (now - aw->progress_ms >= ACKWAIT_STALL_MS) {
        conn__acked(c, aw->l, UV_ETIMEDOUT);
        return;
    } else if (aw->tick_ms < TICK_MAX_MS) {
        aw->tick_ms *= 2;
    }
    aw->left = (uint64_t)left;
    uv_timer_start(t, on_tick, aw->tick_ms, 0);
}

int ackwait_start(struct conn *c, enum leg_id l)
{
    struct ackwait *aw = calloc(1, sizeof *aw);

    if (!aw)
        return UV_ENOMEM;
    aw->c = c;
    aw->l = l;
    aw->left = UINT64_MAX;
    aw->tick_ms = TICK_MIN_MS;
    uv_timer_init(c->timer.loop, &aw->timer);
    aw->timer.data = aw;
    aw->progress_ms = uv_now(c->timer.loop);
    c->ackwait = aw;
    uv_timer_start(&aw->timer, on_tick, 0, 0);
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    struct ackwait *aw = h->data;
    struct conn *c = aw->c;

    free(aw);
    conn__release(c);
}

void ackwait_stop(struct conn *c)
{
    struct ackwait *aw = c->ackwait;

    if (!aw)
        return;
    c->ackwait = NULL;
    conn__hold(c);
    uv_close((uv_handle_t *)&aw->timer, on_closed);
}
