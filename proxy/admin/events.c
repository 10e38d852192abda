#include "proxy/admin/events.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "proxy/log.h"

/* A subscriber's first buffer; it doubles up to EVENTS_BUF_MAX as lines wait. */
#define BUF_START (16 * 1024)

struct events_sub {
    struct events_sub *next;
    struct events_sub **pprev;
    enum log_level level;
    char *proxy;          /* only this proxy's events; NULL: all */
    char *buf;            /* bytes [off, len) are unread */
    size_t off, len, cap; /* cap <= EVENTS_BUF_MAX */
    enum events_end end;
    bool asleep; /* events_read found nothing: wake when that changes */
    void (*wake)(void *ctx);
    void *ctx;
};

static struct events_sub *subs;
static unsigned nsubs;

/* The streams' most detailed level to log.c, which formats nothing for them below it. */
static void update_level(void)
{
    int level = -1;

    for (struct events_sub *s = subs; s; s = s->next)
        if (s->end == EVENTS_OPEN && (int)s->level > level)
            level = (int)s->level;
    log__set_stream_level(level);
}

int events_subscribe(struct events_sub **out, enum log_level level, const char *proxy)
{
    struct events_sub *s = calloc(1, sizeof *s);

    if (!s || (proxy && !(s->proxy = strdup(proxy)))) {
        free(s);
        return UV_ENOMEM;
    }
    s->level = level;
    s->next = subs;
    s->pprev = &subs;
    if (subs)
        subs->pprev = &s->next;
    subs = s;
    nsubs++;
    update_level();
    *out = s;
    return 0;
}

void events_set_wake(struct events_sub *s, void (*wake)(void *ctx), void *ctx)
{
    s->wake = wake;
    s->ctx = ctx;
}

static void wake(struct events_sub *s)
{
    if (s->asleep && s->wake) {
        s->asleep = false;
        s->wake(s->ctx);
    }
}

static void drop_buffer(struct events_sub *s)
{
    free(s->buf);
    s->buf = NULL;
    s->off = s->len = s->cap = 0;
}

void events_end(struct events_sub *s, enum events_end why)
{
    if (s->end != EVENTS_OPEN)
        return;
    s->end = why;
    if (why != EVENTS_STOPPED)
        drop_buffer(s);
    update_level();
    /* the HTTP layer must see the end even if it is not waiting for lines */
    s->asleep = true;
    wake(s);
}

ssize_t events_read(struct events_sub *s, char *buf, size_t max)
{
    size_t n = s->len - s->off;

    if (n == 0) {
        if (s->end != EVENTS_OPEN)
            return -1;
        s->asleep = true;
        return 0;
    }
    if (n > max)
        n = max;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    if (s->off == s->len)
        s->off = s->len = 0;
    return (ssize_t)n;
}

enum events_end events_state(const struct events_sub *s)
{
    return s->end;
}

size_t events_pending(const struct events_sub *s)
{
    return s->len - s->off;
}

void events_unsubscribe(struct events_sub *s)
{
    if (!s)
        return;
    *s->pprev = s->next;
    if (s->next)
        s->next->pprev = s->pprev;
    nsubs--;
    free(s->buf);
    free(s->proxy);
    free(s);
    update_level();
}

unsigned events_subscribers(void)
{
    return nsubs;
}

void events_stop_all(void)
{
    for (struct events_sub *s = subs; s; s = s->next)
        events_end(s, EVENTS_STOPPED);
}

static bool wants(const struct events_sub *s, enum log_level level, const char *proxy)
{
    return s->end == EVENTS_OPEN && level <= s->level &&
           (!s->proxy || (proxy && strcmp(s->proxy, proxy) == 0));
}

bool events_wanted(enum log_level level, const char *proxy)
{
    for (const struct events_sub *s = subs; s; s = s->next)
        if (wants(s, level, proxy))
            return true;
    return false;
}

/* Room for n more bytes in s, within EVENTS_BUF_MAX: false if there is none. */
static bool make_room(struct events_sub *s, size_t n)
{
    size_t cap;
    char *b;

    if (s->len - s->off + n > EVENTS_BUF_MAX)
        return false;
    if (s->len + n <= s->cap)
        return true;
    if (s->off) { /* what was read goes first: no growth while the reader keeps up */
        memmove(s->buf, s->buf + s->off, s->len - s->off);
        s->len -= s->off;
        s->off = 0;
        if (s->len + n <= s->cap)
            return true;
    }
    cap = s->cap ? s->cap : BUF_START;
    while (cap < s->len + n)
        cap *= 2;
    if (cap > EVENTS_BUF_MAX)
        cap = EVENTS_BUF_MAX;
    b = realloc(s->buf, cap);
    if (!b)
        return false;
    s->buf = b;
    s->cap = cap;
    return true;
}

void events_publish(enum log_level level, const char *proxy, const char *line, size_t len)
{
    for (struct events_sub *s = subs; s; s = s->next) {
        if (!wants(s, level, proxy))
            continue;
        if (!make_room(s, len)) {
            events_end(s, EVENTS_DROPPED);
            continue;
        }
        memcpy(s->buf + s->len, line, len);
        s->len += len;
        wake(s);
    }
}
