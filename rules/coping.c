/* How applications coped with finwait's faults (coping.h). */
#include "rules/coping.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *coping_outcome_name(enum coping_outcome o)
{
    static const char *const names[COPE_COUNT] = {"pending", "retried", "closed", "hung"};
    return (unsigned)o < COPE_COUNT ? names[o] : "?";
}

struct coping_rec *coping_find(struct coping *cp, uint64_t conn)
{
    if (!conn)
        return NULL;
    for (size_t i = 0; i < COPING_RECS; i++)
        if (cp->rec[i].conn == conn)
            return &cp->rec[i];
    return NULL;
}

static struct coping_tally *tally_of(struct coping_tally *t, size_t *n, size_t max,
                                     const char *fault)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(t[i].fault, fault) == 0)
            return &t[i];
    if (*n == max) /* the last slot takes every fault past the others */
        return *n ? &t[*n - 1] : NULL;
    memset(&t[*n], 0, sizeof t[*n]);
    snprintf(t[*n].fault, sizeof t[*n].fault, "%s", *n == max - 1 ? "(other faults)" : fault);
    return &t[(*n)++];
}

static void tally_add(struct coping_tally *t, enum coping_outcome o, uint64_t conn, double ms)
{
    if (t->n[o] < sizeof t->examples[o] / sizeof t->examples[o][0])
        t->examples[o][t->n[o]] = conn;
    if (t->n[o] == 0 || ms < t->min_ms[o])
        t->min_ms[o] = ms;
    if (t->n[o] == 0 || ms > t->max_ms[o])
        t->max_ms[o] = ms;
    t->n[o]++;
}

enum coping_outcome coping_judge(const struct coping *cp, const struct coping_rec *r, double now_s,
                                 double *ms)
{
    double since;

    *ms = 0;
    if (r->retry) {
        *ms = (r->retry_s - r->fault_s) * 1e3;
        return COPE_RETRIED;
    }
    if (r->closed_s != COPE_NONE) {
        if (!cp->final && now_s - r->closed_s <= cp->retry_within_s)
            return COPE_PENDING; /* a retry may still come */
        *ms = r->closed_s > r->fault_s ? (r->closed_s - r->fault_s) * 1e3 : 0;
        return COPE_CLOSED;
    }
    since = r->active_s > r->fault_s ? r->active_s : r->fault_s;
    if (now_s - since >= cp->hung_after_s) {
        *ms = (now_s - since) * 1e3;
        return COPE_HUNG;
    }
    return COPE_PENDING;
}

static void fold(struct coping *cp, const struct coping_rec *r, double now_s)
{
    /* judged as it stands when its slot is needed: a pending one stays pending */
    struct coping_tally *t = tally_of(cp->folded, &cp->nfolded, COPING_FAULTS, r->fault);
    double ms;
    enum coping_outcome o = coping_judge(cp, r, now_s, &ms);

    if (t)
        tally_add(t, o, r->conn, ms);
}

struct coping_rec *coping_fault(struct coping *cp, uint64_t conn, const char *client,
                                const char *fault, double now_s)
{
    struct coping_rec *r = coping_find(cp, conn);

    if (r)
        return r;
    r = &cp->rec[cp->next];
    cp->next = (cp->next + 1) % COPING_RECS;
    if (r->conn)
        fold(cp, r, now_s);
    *r = (struct coping_rec){.conn = conn,
                             .fault_s = now_s,
                             .active_s = COPE_NONE,
                             .closed_s = COPE_NONE,
                             .retry_s = COPE_NONE};
    snprintf(r->client, sizeof r->client, "%s", client ? client : "");
    snprintf(r->fault, sizeof r->fault, "%s", fault ? fault : "");
    return r;
}

void coping_accept(struct coping *cp, uint64_t conn, const char *client, double now_s)
{
    for (size_t i = 0; i < COPING_RECS; i++) {
        struct coping_rec *r = &cp->rec[i];
        if (!r->conn || r->conn == conn || r->retry || r->fault_s > now_s ||
            strcmp(r->client, client) != 0)
            continue;
        /* a client that closed long ago and comes back is doing something new */
        if (r->closed_s != COPE_NONE && now_s - r->closed_s > cp->retry_within_s)
            continue;
        r->retry = conn;
        r->retry_s = now_s;
    }
}

size_t coping_tallies(const struct coping *cp, double now_s, struct coping_tally *out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < cp->nfolded && n < max; i++)
        out[n++] = cp->folded[i];
    /* oldest first, so that the examples are the first connections of each outcome */
    for (size_t k = 0; k < COPING_RECS; k++) {
        const struct coping_rec *r = &cp->rec[(cp->next + k) % COPING_RECS];
        struct coping_tally *t;
        enum coping_outcome o;
        double ms;

        if (!r->conn)
            continue;
        t = tally_of(out, &n, max, r->fault);
        if (!t)
            break;
        o = coping_judge(cp, r, now_s, &ms);
        tally_add(t, o, r->conn, ms);
    }
    return n;
}

/* Append one clause to buf (n bytes used of len), cut short if it does not fit. */
static void append(char *buf, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
    va_list ap;
    int w;

    if (*n + 1 >= len)
        return;
    va_start(ap, fmt);
    w = vsnprintf(buf + *n, len - *n, fmt, ap);
    va_end(ap);
    *n += w < 0 ? 0 : (size_t)w < len - *n ? (size_t)w : len - *n - 1;
}

/* "2.1 ms" or "2.1-4.0 ms": the fastest and slowest of outcome o. */
static const char *range(char *buf, size_t len, const struct coping_tally *t, enum coping_outcome o)
{
    if (t->max_ms[o] - t->min_ms[o] < 0.05)
        snprintf(buf, len, "%.1f ms", t->min_ms[o]);
    else
        snprintf(buf, len, "%.1f-%.1f ms", t->min_ms[o], t->max_ms[o]);
    return buf;
}

void coping_text(const struct coping_tally *t, char *buf, size_t len)
{
    static const char *const clause[COPE_COUNT] = {
        [COPE_RETRIED] = " the client retried on a new connection %llu time%s (%s after the "
                         "fault);",
        [COPE_CLOSED] = " closed without retrying %llu time%s (%s after the fault: the error "
                        "surfaced, or the work was done);",
        [COPE_HUNG] = " hung %llu time%s (nothing from the client for %s: no timeout?);",
    };
    uint64_t total = 0;
    size_t n = 0;
    char r[64];

    if (len == 0)
        return;
    buf[0] = '\0';
    for (int o = 0; o < COPE_COUNT; o++)
        total += t->n[o];
    append(buf, len, &n, "acted on %llu connection%s:", (unsigned long long)total,
           total == 1 ? "" : "s");
    for (int o = COPE_RETRIED; o <= COPE_HUNG; o++)
        if (t->n[o])
            append(buf, len, &n, clause[o], (unsigned long long)t->n[o], t->n[o] == 1 ? "" : "s",
                   range(r, sizeof r, t, (enum coping_outcome)o));
    if (t->n[COPE_PENDING])
        append(buf, len, &n, " %llu not decided yet;", (unsigned long long)t->n[COPE_PENDING]);
    if (n > 0 && buf[n - 1] == ';')
        buf[n - 1] = '\0';
}
