#include "proxy/timeline.h"

#include <stdlib.h>
#include <string.h>

/* Beyond this a connection's diagram stops growing (a long-lived connection with many bursts
 * would otherwise hold memory until it ends). */
#define TL_MAX_EVENTS 512

struct tl_event {
    double t_ms;
    enum tl_kind kind;
    enum leg_id leg;
    bool inbound;
    uint64_t bytes;
    char state[14];
    char *text;
};

struct timeline {
    size_t n, cap;
    size_t lost;   /* events past TL_MAX_EVENTS */
    double end_ms; /* time of the latest event, drawn or lost */
    struct tl_event ev[];
};

void timeline_add(struct timeline **tlp, double t_ms, enum tl_kind k, enum leg_id leg, bool inbound,
                  uint64_t bytes, const char *state, const char *text)
{
    struct timeline *tl = *tlp;
    struct tl_event *e;

    if (tl && t_ms > tl->end_ms)
        tl->end_ms = t_ms;
    /* consecutive bursts in one direction are one arrow (dropped ones: for the same reason) */
    if (tl && tl->n > 0 && (k == TL_DATA || k == TL_DROP)) {
        e = &tl->ev[tl->n - 1];
        if (e->kind == k && e->leg == leg &&
            (e->text && text ? strcmp(e->text, text) == 0 : e->text == text)) {
            e->bytes += bytes;
            return;
        }
    }
    if (!tl || tl->n == tl->cap) {
        size_t cap = tl ? tl->cap * 2 : 16;
        if (tl && tl->n >= TL_MAX_EVENTS) {
            tl->lost++;
            return;
        }
        tl = realloc(tl, sizeof *tl + cap * sizeof tl->ev[0]);
        if (!tl)
            return;
        if (!*tlp) {
            tl->n = 0;
            tl->lost = 0;
            tl->end_ms = t_ms;
        }
        tl->cap = cap;
        *tlp = tl;
    }
    e = &tl->ev[tl->n++];
    memset(e, 0, sizeof *e);
    e->t_ms = t_ms;
    e->kind = k;
    e->leg = leg;
    e->inbound = inbound;
    e->bytes = bytes;
    if (state)
        snprintf(e->state, sizeof e->state, "%s", state);
    e->text = text ? strdup(text) : NULL;
}

void timeline_free(struct timeline *tl)
{
    if (!tl)
        return;
    for (size_t i = 0; i < tl->n; i++)
        free(tl->ev[i].text);
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

void timeline_print(const struct timeline *tl, FILE *out, const char *title)
{
    char head[LINE_LEN + 1];
    const struct tl_event **order;

    if (!tl)
        return;
    /* In the order they happened: an event is recorded when finwait learns of it, stamped
     * with when it happened (a segment the packet engine judged), so the two orders may
     * differ. Insertion sort: stable, and the list is short and nearly sorted. */
    order = malloc(tl->n * sizeof *order + 1);
    if (!order)
        return;
    for (size_t i = 0; i < tl->n; i++) {
        size_t j = i;
        while (j > 0 && order[j - 1]->t_ms > tl->ev[i].t_ms) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = &tl->ev[i];
    }
    memset(head, ' ', LINE_LEN);
    head[LINE_LEN] = '\0';
    memcpy(head + COL_C - 3, "client", 6);
    memcpy(head + COL_F - 3, "finwait", 7);
    memcpy(head + COL_S - 3, "server", 6);
    flockfile(out);
    fprintf(out, "\n%s\n%*s %s\n", title, COL_TIME - 1, "ms", head);
    for (size_t i = 0; i < tl->n; i++)
        print_event(out, order[i]);
    if (tl->lost)
        fprintf(out, "%*s ... %zu more events not shown\n", COL_TIME - 1, "", tl->lost);
    fputc('\n', out);
    funlockfile(out);
    fflush(out);
    free(order);
}
