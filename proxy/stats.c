#include "proxy/stats.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct process_stats stats_process;

static const char *const upstream_failure_names[] = {
    [UPSTREAM_REFUSED] = "refused",
    [UPSTREAM_TIMEOUT] = "timeout",
    [UPSTREAM_UNREACHABLE] = "unreachable",
    [UPSTREAM_DNS] = "dns",
    [UPSTREAM_OTHER] = "other",
};

const char *upstream_failure_name(enum upstream_failure r)
{
    return upstream_failure_names[r];
}

static const char *const accept_failure_names[] = {
    [ACCEPT_EMFILE] = "emfile",
    [ACCEPT_ENFILE] = "enfile",
    [ACCEPT_OTHER] = "other",
};

const char *accept_failure_name(enum accept_failure r)
{
    return accept_failure_names[r];
}

static void stats_free(struct proxy_stats *st)
{
    for (size_t i = 0; i < st->nfaults; i++)
        free(st->faults[i].name);
    free(st->faults);
    free(st->tw_clients);
    free(st->coping);
    free(st->name);
    free(st);
}

struct proxy_stats *stats_ref(struct proxy_stats *st)
{
    st->refs++;
    return st;
}

void stats_unref(struct proxy_stats *st)
{
    if (st && --st->refs == 0)
        stats_free(st);
}

static struct proxy_stats *find(struct proxy_stats *head, const char *name)
{
    for (; head; head = head->next)
        if (strcmp(head->name, name) == 0)
            return head;
    return NULL;
}

/* A new registered entry, with the registry's reference. */
static struct proxy_stats *entry_new(const char *name)
{
    struct proxy_stats *st = calloc(1, sizeof *st);

    if (!st || !(st->name = strdup(name))) {
        free(st);
        return NULL;
    }
    st->refs = 1;
    st->registered = true;
    return st;
}

/* entry_new() at the end of the registry's list. */
static struct proxy_stats *add(struct proxy_stats **head, const char *name)
{
    struct proxy_stats *st = entry_new(name), **tail;

    if (!st)
        return NULL;
    for (tail = head; *tail; tail = &(*tail)->next)
        ;
    *tail = st;
    return st;
}

struct proxy_stats *stats_get(struct proxy_stats **head, const char *name)
{
    struct proxy_stats *st = find(*head, name);

    if (!st)
        st = add(head, name);
    return st ? stats_ref(st) : NULL;
}

static struct fault_stats *fault_find_in(struct fault_stats *v, size_t n, const char *name,
                                         enum fault_type type)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].name && v[i].type == type && strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

static struct fault_stats *fault_find(struct proxy_stats *st, const char *name,
                                      enum fault_type type)
{
    return fault_find_in(st->faults, st->nfaults, name, type);
}

static struct fault_stats *fault_add(struct proxy_stats *st, const struct fault *f)
{
    struct fault_stats *v = realloc(st->faults, (st->nfaults + 1) * sizeof *v);
    char *name = strdup(f->name);

    if (v)
        st->faults = v;
    if (!v || !name) {
        free(name);
        return NULL;
    }
    v[st->nfaults] = (struct fault_stats){.name = name, .type = f->type};
    return &v[st->nfaults++];
}

/* The faults of p, in its order, each with what it counted so far; the others go. */
static void sync_faults(struct proxy_stats *st, const struct proxy_cfg *p)
{
    struct fault_stats *keep = calloc(p->nfaults + 1, sizeof *keep);
    size_t n = 0;

    if (!keep)
        return; /* out of memory: keep the old list, a fault missing is added when it fires */
    for (size_t i = 0; i < p->nfaults; i++) {
        const struct fault *f = &p->faults[i];
        struct fault_stats *old = fault_find(st, f->name, f->type);
        if (fault_find_in(keep, n, f->name, f->type))
            continue; /* the loader refuses two faults of one name; be safe anyway */
        if (old) {
            keep[n++] = *old;
            old->name = NULL; /* moved */
        } else if ((keep[n].name = strdup(f->name))) {
            keep[n++].type = f->type;
        }
    }
    for (size_t i = 0; i < st->nfaults; i++)
        free(st->faults[i].name);
    free(st->faults);
    st->faults = keep;
    st->nfaults = n;
}

void stats_sync(struct proxy_stats **head, const struct config *cfg)
{
    struct proxy_stats *list = *head, *kept = NULL, **tail = &kept, *st, *next;

    /* move the entries of cfg's proxies, in cfg's order, to a new list */
    for (size_t i = 0; i < cfg->nproxies; i++) {
        struct proxy_stats **pp;
        for (pp = &list; *pp && strcmp((*pp)->name, cfg->proxies[i].name) != 0; pp = &(*pp)->next)
            ;
        if (*pp) {
            st = *pp;
            *pp = st->next;
        } else if (find(kept, cfg->proxies[i].name) || !(st = entry_new(cfg->proxies[i].name))) {
            continue; /* names are unique; out of memory: it is made when used */
        }
        st->next = NULL;
        sync_faults(st, &cfg->proxies[i]);
        *tail = st;
        tail = &st->next;
    }
    /* what is left is no longer configured: out of the output, and of the registry */
    for (st = list; st; st = next) {
        next = st->next;
        st->next = NULL;
        st->registered = false;
        stats_unref(st);
    }
    *head = kept;
}

void stats_free_all(struct proxy_stats **head)
{
    struct proxy_stats *st = *head, *next;

    for (; st; st = next) {
        next = st->next;
        st->next = NULL;
        st->registered = false;
        stats_unref(st);
    }
    *head = NULL;
}

void stats_fault_fired(struct proxy_stats *st, const struct fault *f)
{
    struct fault_stats *fs = fault_find(st, f->name, f->type);

    if (!fs)
        fs = fault_add(st, f);
    if (fs)
        fs->fired++;
}

void stats_upstream_failed(struct proxy_stats *st, bool resolve, int err)
{
    enum upstream_failure r;

    if (resolve)
        r = UPSTREAM_DNS;
    else if (err == 0 || err == UV_ETIMEDOUT)
        r = UPSTREAM_TIMEOUT;
    else if (err == UV_ECONNREFUSED)
        r = UPSTREAM_REFUSED;
    else if (err == UV_ENETUNREACH || err == UV_EHOSTUNREACH)
        r = UPSTREAM_UNREACHABLE;
    else
        r = UPSTREAM_OTHER;
    st->upstream_failures[r]++;
}

void stats_conn_gone(struct proxy_stats *st, const struct dirstate dirs[2])
{
    for (int d = 0; d < 2; d++) {
        st->bytes_in[d] += dirs[d].bytes_in;
        st->bytes_out[d] += dirs[d].bytes_out;
    }
}

void stats_reload(enum reload_source src, bool ok)
{
    stats_process.reloads[src][ok ? 0 : 1]++;
}

void stats_admin_request(unsigned status)
{
    if (status < sizeof stats_process.admin_requests / sizeof stats_process.admin_requests[0])
        stats_process.admin_requests[status]++;
}

void stats_admin_accept_failed(enum accept_failure r)
{
    stats_process.admin_accept_failures[r]++;
}

void stats_packet_verdict(bool dropped)
{
    stats_process.packet_verdicts[dropped ? 1 : 0]++;
}
