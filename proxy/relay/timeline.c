#include "proxy/relay/timeline.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "proxy/log.h"

struct tl_event {
    double t_ms;
    enum tl_kind kind;
    enum leg_id leg;
    bool inbound;
    uint64_t bytes;
    char state[14];
    char *text;
    const char *event; /* the JSON log's name for it, or NULL: derived from kind */
    char *extra;       /* the log line's extra keys as a JSON object's text, as the JSON log
                          writes them (log_kv_object), or NULL */
};

struct timeline {
    size_t n, cap;
    size_t last;   /* index of the latest event recorded (the one a burst merges into) */
    size_t lost;   /* events dropped between the first TL_HEAD and the latest */
    double end_ms; /* time of the latest event, kept or lost */
    struct tl_event ev[];
};

static void event_clear(struct tl_event *e)
{
    free(e->text);
    free(e->extra);
    memset(e, 0, sizeof *e);
}

/* The slot for a new event: a new one while under TL_MAX_EVENTS, else the oldest after the
 * head, as a ring (the events are sorted by time when shown). NULL when out of memory. */
static struct tl_event *event_slot(struct timeline **tlp, double t_ms)
{
    struct timeline *tl = *tlp;
    size_t cap;

    if (tl && tl->n == TL_MAX_EVENTS) {
        /* events come in (nearly) time order: the next slot of the ring holds the oldest */
        size_t oldest = TL_HEAD + tl->lost % (TL_MAX_EVENTS - TL_HEAD);
        event_clear(&tl->ev[oldest]);
        tl->lost++;
        tl->last = oldest;
        return &tl->ev[oldest];
    }
    if (!tl || tl->n == tl->cap) {
        /* every connection records: an idle one has a handful of events, start small */
        cap = tl ? tl->cap * 2 : 4;
        if (cap > TL_MAX_EVENTS)
            cap = TL_MAX_EVENTS;
        tl = realloc(tl, sizeof *tl + cap * sizeof tl->ev[0]);
        if (!tl)
            return NULL;
        if (!*tlp) {
            tl->n = 0;
            tl->lost = 0;
            tl->end_ms = t_ms;
        }
        tl->cap = cap;
        *tlp = tl;
    }
    tl->last = tl->n++;
    memset(&tl->ev[tl->last], 0, sizeof tl->ev[0]);
    return &tl->ev[tl->last];
}

void timeline_add_event(struct timeline **tlp, double t_ms, enum tl_kind k, enum leg_id leg,
                        bool inbound, uint64_t bytes, const char *state, const char *text,
                        const char *event, const struct log_kv *kv, int nkv)
{
    struct timeline *tl = *tlp;
    struct tl_event *e;

    if (tl && t_ms > tl->end_ms)
        tl->end_ms = t_ms;
    /* consecutive bursts in one direction are one arrow (dropped ones: for the same reason) */
    if (tl && tl->n > 0 && (k == TL_DATA || k == TL_DROP)) {
        e = &tl->ev[tl->last];
        if (e->kind == k && e->leg == leg &&
            (e->text && text ? strcmp(e->text, text) == 0 : e->text == text)) {
            e->bytes += bytes;
            return;
        }
    }
    e = event_slot(tlp, t_ms);
    if (!e)
        return;
    e->t_ms = t_ms;
    e->kind = k;
    e->leg = leg;
    e->inbound = inbound;
    e->bytes = bytes;
    e->event = event;
    if (state)
        snprintf(e->state, sizeof e->state, "%s", state);
    e->text = text ? strdup(text) : NULL;
    if (nkv > 0)
        e->extra = log_kv_object(kv, nkv);
}

void timeline_add(struct timeline **tl, double t_ms, enum tl_kind k, enum leg_id leg, bool inbound,
                  uint64_t bytes, const char *state, const char *text)
{
    timeline_add_event(tl, t_ms, k, leg, inbound, bytes, state, text, NULL, NULL, 0);
}

void timeline_free(struct timeline *tl)
{
    if (!tl)
        return;
    for (size_t i = 0; i < tl->n; i++)
        event_clear(&tl->ev[i]);
    free(tl);
}

/* Column layout: time, then three lifelines W apart. */
enum { COL_TIME = 11, W = 24, COL_C = COL_TIME + 2, COL_F = COL_C + W, COL_S = COL_F + W };
#define LINE_LEN (COL_S + 4) /* room for the "server" heading centred on its lifeline */

static void lifelines(char *line)
{
    memset(line, ' ', LINE_LEN);
    line[LINE_LEN] = '\0';
    line[COL_C] = line[COL_F] = line[COL_S] = '|';
}

/* An arrow between two lifelines with a centred label; `end` replaces the head ('X' for a
 * segment that never arrived). */
static void arrow(char *line, int from, int to, const char *label, char end)
{
    int lo = from < to ? from : to, hi = from < to ? to : from;
    int len = (int)strlen(label);
    int mid;

    for (int i = lo + 1; i < hi; i++)
        line[i] = '-';
    if (from < to)
        line[hi - 1] = end ? end : '>';
    else
        line[lo + 1] = end ? end : '<';
    if (len > hi - lo - 5)
        len = hi - lo - 5;
    if (len > 0) {
        mid = lo + (hi - lo - len) / 2;
        line[mid - 1] = ' ';
        memcpy(line + mid, label, (size_t)len);
        line[mid + len] = ' ';
    }
}

static int peer_col(enum leg_id l)
{
    return l == LEG_CLIENT ? COL_C : COL_F + W;
}

static void bytes_label(char *buf, size_t len, uint64_t n)
{
    if (n >= 10 * 1024 * 1024)
        snprintf(buf, len, "%llu MiB", (unsigned long long)(n >> 20));
    else if (n >= 10 * 1024)
        snprintf(buf, len, "%llu KiB", (unsigned long long)(n >> 10));
    else
        snprintf(buf, len, "%llu B", (unsigned long long)n);
}

static void print_event(FILE *out, const struct tl_event *e)
{
    char line[LINE_LEN + 1], label[32];
    const char *note = e->text;
    int peer = peer_col(e->leg);
    char notebuf[64];

    lifelines(line);
    switch (e->kind) {
    case TL_SYN:
    case TL_FIN:
    case TL_RST:
        snprintf(label, sizeof label, "%s",
                 e->kind == TL_SYN   ? "SYN"
                 : e->kind == TL_FIN ? "FIN"
                                     : "RST");
        arrow(line, e->inbound ? peer : COL_F, e->inbound ? COL_F : peer, label, 0);
        if (e->state[0]) {
            snprintf(notebuf, sizeof notebuf, "%s leg %s",
                     e->leg == LEG_CLIENT ? "client" : "server", e->state);
            if (!note || e->kind == TL_SYN)
                note = notebuf;
        }
        if (e->kind != TL_SYN && e->state[0]) {
            /* the reason in parentheses is worth keeping next to the state */
            const char *why = note ? strchr(note, '(') : NULL;
            snprintf(notebuf, sizeof notebuf, "%s leg %s%s%s",
                     e->leg == LEG_CLIENT ? "client" : "server", e->state, why ? " " : "",
                     why ? why : "");
            note = notebuf;
        }
        break;
    case TL_DATA:
    case TL_DROP: {
        bool up = e->leg == LEG_CLIENT;
        bytes_label(label, sizeof label, e->bytes);
        arrow(line, up ? COL_C : COL_S, COL_F, label, e->kind == TL_DROP ? 'X' : 0);
        if (e->kind == TL_DATA)
            arrow(line, COL_F, up ? COL_S : COL_C, label, 0);
        else if (!note)
            note = "dropped by a fault";
        break;
    }
    case TL_PACKET: {
        bool dropped = note && strncmp(note, "dropped", 7) == 0;
        const char *what = note && strstr(note, "FIN") ? "FIN" : "ACK";
        snprintf(label, sizeof label, "%s", what);
        arrow(line, e->inbound ? peer : COL_F, e->inbound ? COL_F : peer, label, dropped ? 'X' : 0);
        break;
    }
    case TL_FAULT:
        memcpy(line + COL_F - 1, "[*]", 3);
        break;
    case TL_NOTE:
        break;
    }
    /* trim trailing blanks before the note */
    fprintf(out, "%*.3f %s%s%s\n", COL_TIME - 1, e->t_ms, line, note ? "  " : "", note ? note : "");
}

double timeline_end_ms(const struct timeline *tl)
{
    return tl ? tl->end_ms : 0;
}

/* The events in the order they happened: an event is recorded when finwait learns of it,
 * stamped with when it happened (a segment the packet engine judged), so the two orders may
 * differ; and the latest events overwrite each other in a ring. Insertion sort: stable, and
 * the list is short and nearly sorted. NULL when out of memory. */
static const struct tl_event **sorted(const struct timeline *tl)
{
    const struct tl_event **order = malloc(tl->n * sizeof *order + 1);

    if (!order)
        return NULL;
    for (size_t i = 0; i < tl->n; i++) {
        size_t j = i;
        while (j > 0 && order[j - 1]->t_ms > tl->ev[i].t_ms) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = &tl->ev[i];
    }
    return order;
}

void timeline_print(const struct timeline *tl, FILE *out, const char *title)
{
    char head[LINE_LEN + 1];
    const struct tl_event **order;
    bool gap_shown = false;

    if (!tl || !(order = sorted(tl)))
        return;
    memset(head, ' ', LINE_LEN);
    head[LINE_LEN] = '\0';
    memcpy(head + COL_C - 3, "client", 6);
    memcpy(head + COL_F - 3, "finwait", 7);
    memcpy(head + COL_S - 3, "server", 6);
    flockfile(out);
    fprintf(out, "\n%s\n%*s %s\n", title, COL_TIME - 1, "ms", head);
    for (size_t i = 0; i < tl->n; i++) {
        /* the events dropped came after the head's and before the ring's */
        if (tl->lost && !gap_shown && order[i] >= &tl->ev[TL_HEAD]) {
            fprintf(out, "%*s ... %zu more events not shown\n", COL_TIME - 1, "", tl->lost);
            gap_shown = true;
        }
        print_event(out, order[i]);
    }
    fputc('\n', out);
    funlockfile(out);
    fflush(out);
    free(order);
}

/* The JSON log's name of an event recorded without one. */
static const char *event_name(const struct tl_event *e)
{
    if (e->event)
        return e->event;
    switch (e->kind) {
    case TL_SYN:
        return e->inbound ? "accepted" : "connected";
    case TL_DATA:
        return "data";
    case TL_DROP:
        return "dropped";
    case TL_FIN:
        return e->inbound ? "fin_received" : "fin_sent";
    case TL_RST:
        return e->inbound ? "rst_received" : "rst_sent";
    case TL_FAULT:
        return "fault";
    case TL_PACKET:
        return "packet";
    case TL_NOTE:
        break;
    }
    return "note";
}

static json_t *event_json(const struct tl_event *e, const char *proxy, uint64_t conn_id,
                          double t0_wall)
{
    static const char *const legs[] = {"client", "server"};
    double wall = t0_wall + e->t_ms / 1000;
    time_t sec = (time_t)wall;
    struct tm tm;
    char ts[48], date[32], msg[96] = "";
    json_t *o;

    gmtime_r(&sec, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts, sizeof ts, "%s.%06ldZ", date, (long)((wall - (double)sec) * 1e6));
    o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:f}", "ts", ts, "level", "info", "event", event_name(e),
                  "proxy", proxy, "conn", (json_int_t)conn_id, "t_ms", e->t_ms);
    if (!o)
        return NULL;
    if (e->kind != TL_NOTE || e->state[0])
        json_object_set_new(o, "leg", json_string(legs[e->leg]));
    if (e->state[0])
        json_object_set_new(o, "state", json_string(e->state));
    if (e->kind == TL_DATA || e->kind == TL_DROP) {
        json_object_set_new(o, "direction",
                            json_string(e->leg == LEG_CLIENT ? "upstream" : "downstream"));
        json_object_set_new(o, "bytes", json_integer((json_int_t)e->bytes));
    }
    if (e->extra) {
        json_t *extra = json_loads(e->extra, 0, NULL);
        json_object_update(o, extra);
        json_decref(extra);
    }
    if (!e->text && (e->kind == TL_DATA || e->kind == TL_DROP))
        snprintf(msg, sizeof msg, "%llu bytes %s", (unsigned long long)e->bytes,
                 e->kind == TL_DATA ? "relayed" : "dropped by a fault");
    json_object_set_new(o, "msg", json_string(e->text ? e->text : msg));
    return o;
}

json_t *timeline_json(const struct timeline *tl, const char *proxy, uint64_t conn_id,
                      double t0_wall)
{
    const struct tl_event **order;
    json_t *a = json_array();

    if (!a || !tl)
        return a;
    order = sorted(tl);
    if (!order) {
        json_decref(a);
        return NULL;
    }
    for (size_t i = 0; i < tl->n; i++)
        json_array_append_new(a, event_json(order[i], proxy, conn_id, t0_wall));
    free(order);
    return a;
}

void timeline_retract(struct timeline *tl, enum leg_id leg, uint64_t bytes)
{
    /* from the latest burst back: a reset discards the tail of what was written */
    while (tl && bytes > 0) {
        struct tl_event *latest = NULL;

        for (size_t i = 0; i < tl->n; i++) {
            struct tl_event *e = &tl->ev[i];
            if (e->kind == TL_DATA && e->leg == leg && e->bytes > 0 &&
                (!latest || e->t_ms >= latest->t_ms))
                latest = e;
        }
        if (!latest)
            return;
        uint64_t n = latest->bytes < bytes ? latest->bytes : bytes;
        latest->bytes -= n;
        bytes -= n;
    }
}
