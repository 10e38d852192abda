/*
 * Shaping faults (latency, bandwidth, slicer) turn each chunk read into pieces with a due
 * time, queued per direction and written by a timer. A FIN waits behind the queued pieces,
 * so the bytes before it always arrive first.
 */
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
 * only for inject__shaper_push, before it queues a chunk, when no one holds one.
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

/* What the shaping queues of its directions hold (shared by every shaping fault of the
 * direction, in configuration order). */
static void shape_describe(const struct fault_rt *ft, char *buf, size_t len)
{
    size_t bytes = 0;

    for (int d = 0; d < 2; d++) {
        const struct shaper *s = ft->c->inj->shape[d];
        if (s && applies(ft->f, (enum dir)d))
            bytes += s->bytes;
    }
    if (bytes >= 10 * 1024)
        snprintf(buf, len, "shaping %zu KiB queued", bytes >> 10);
    else if (bytes > 0)
        snprintf(buf, len, "shaping %zu B queued", bytes);
    else
        snprintf(buf, len, "shaping, nothing queued");
}

const struct fault_ops inject__latency_ops = {
    .shape = latency_shape, .on_detach = inject__shaping_release, .describe = shape_describe};
const struct fault_ops inject__bandwidth_ops = {
    .shape = bandwidth_shape, .on_detach = inject__shaping_release, .describe = shape_describe};
const struct fault_ops inject__slicer_ops = {
    .shape = slicer_shape, .on_detach = inject__shaping_release, .describe = shape_describe};

static struct shaper *shaper_of(struct fault_rt *ft, enum dir d)
{
    return ft->c->inj->shape[d];
}

static void on_shaper_timer(uv_timer_t *t);

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
            inject__end_after_bytes(p->end, d);
            continue;
        }
        if (!p->b) {
            inject__fin_after_shaping(c, d);
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
void inject__shaper_push(struct conn *c, enum dir d, struct buf *b, size_t len,
                         struct fault_rt *end)
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
bool inject__shaper_needed(const struct inject *inj, enum dir d)
{
    const struct shaper *s = inj->shape[d];

    return s && (s->head < s->n || shaping(inj, d));
}

/* A shaping fault left (ft is already off the list) or changed: what it queued is written
 * now, in order; the faults there shape what is read from now on. */
void inject__shaping_release(struct fault_rt *ft)
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
