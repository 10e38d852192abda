/*
 * finwait's counters, for GET /metrics (proxy/admin/metrics.c writes them out).
 *
 * Per proxy, by name: a struct proxy_stats that the proxy's listener and each of its
 * connections hold a reference to. A reload that keeps a proxy keeps its name and so its
 * counters, even across a new listener (disabled and enabled again, a new listen address);
 * a proxy that leaves the configuration leaves the registry and its series go from the
 * output, while its last connections still count into it until they end.
 *
 * Counting costs the relay nothing per byte: the bytes of open connections are read from
 * their own counters (struct dirstate) at a scrape, and a connection's are added to its
 * proxy's when it is freed. Everything else is one integer increment per event (a FIN, an
 * RST, an accept), on the loop's one thread.
 */
#ifndef FINWAIT_PROXY_STATS_H
#define FINWAIT_PROXY_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/relay/conn-t.h"
#include "rules/config.h"
#include "rules/coping.h"
#include "rules/findings.h"

/* Why a connection to the upstream failed (the label `reason`). */
enum upstream_failure {
    UPSTREAM_REFUSED,     /* the server answered the SYN with an RST (ECONNREFUSED) */
    UPSTREAM_TIMEOUT,     /* connect_timeout (or the kernel's) ran out */
    UPSTREAM_UNREACHABLE, /* no route to the network or host */
    UPSTREAM_DNS,         /* the upstream name did not resolve */
    UPSTREAM_OTHER,       /* any other error */
    UPSTREAM_FAILURE_COUNT
};

/* Why an accepted connection was closed unserved (the label `reason`). */
enum accept_failure {
    ACCEPT_EMFILE, /* the process's descriptor limit (RLIMIT_NOFILE) */
    ACCEPT_ENFILE, /* the system's (fs.file-max) */
    ACCEPT_OTHER,  /* accept(2) failed otherwise (ENOMEM, ENOBUFS...) */
    ACCEPT_FAILURE_COUNT
};

/* How often one fault (by name and type) applied to a connection. */
struct fault_stats {
    char *name;
    enum fault_type type;
    uint64_t fired; /* connections it applied to: chosen at accept, or attached by a reload */
};

struct proxy_stats {
    struct proxy_stats *next; /* the registry's list, in configuration order */
    char *name;
    unsigned refs;   /* the registry's, the listener's, one per connection */
    bool registered; /* in the registry: its series are in the output */

    uint64_t conns_total;
    /* bytes of the connections already freed, per enum dir: read from the source, and
     * handed to the destination's kernel; open connections add their own at a scrape */
    uint64_t bytes_in[2];
    uint64_t bytes_out[2];
    /* per enum leg_id, as conn.c's leg transitions log them */
    uint64_t fin_received[2];
    uint64_t fin_sent[2];
    uint64_t rst_received[2];
    uint64_t rst_sent[2];
    uint64_t upstream_failures[UPSTREAM_FAILURE_COUNT];
    uint64_t
        accept_failures[ACCEPT_FAILURE_COUNT]; /* connections closed unserved, or not accepted */
    struct fault_stats *faults;
    size_t nfaults;
    struct findings findings;     /* teardown verdicts on its connections (relay/facts.c) */
    struct tw_client *tw_clients; /* per client, connections it closed first (relay/facts.c) */
    struct coping *coping;        /* how clients coped with its faults (relay/facts.c), or NULL
                                     until a fault acts */

    /* filled by a scrape (metrics.c) from the open connections, meaningless otherwise */
    uint64_t scrape_open, scrape_half_closed;
    uint64_t scrape_in[2], scrape_out[2];
};

/* Process-wide counters (the loop's one thread writes them). */
struct process_stats {
    uint64_t packet_verdicts[2];  /* of the packet engine: [0] accepted, [1] dropped */
    uint64_t reloads[2][2];       /* [enum reload_source][ok = 0, failed = 1] */
    uint64_t admin_requests[600]; /* admin API answers by HTTP status (100..599) */
    uint64_t admin_accept_failures[ACCEPT_FAILURE_COUNT]; /* the admin API's failed accepts */
};

enum reload_source {
    RELOAD_FILE, /* the configuration file: SIGHUP, or its content changed */
    RELOAD_API,  /* the admin API */
};

extern struct process_stats stats_process;

/* The counters of proxy `name` in the registry at *head, made (registered) if missing; the
 * caller gets a reference. NULL when out of memory. */
struct proxy_stats *stats_get(struct proxy_stats **head, const char *name);
struct proxy_stats *stats_ref(struct proxy_stats *st);
void stats_unref(struct proxy_stats *st);
/* Make the registry hold exactly the proxies of cfg (enabled or not), in its order, and their
 * faults: a proxy or fault that is gone leaves (its series with it); a new one starts at 0. */
void stats_sync(struct proxy_stats **head, const struct config *cfg);
/* Drop the registry (at exit, after the last connection). */
void stats_free_all(struct proxy_stats **head);

/* Fault f applied to a connection of st's proxy. */
void stats_fault_fired(struct proxy_stats *st, const struct fault *f);
/* Connecting to the upstream failed: `resolve` when the name did not resolve, else the error
 * of the connect (0: connect_timeout). */
void stats_upstream_failed(struct proxy_stats *st, bool resolve, int err);
/* A connection of st's proxy is freed: its bytes become the proxy's. */
void stats_conn_gone(struct proxy_stats *st, const struct dirstate dirs[2]);
/* One reload, from `src`, that did (ok) or did not change the running configuration. */
void stats_reload(enum reload_source src, bool ok);
/* The admin API answered with `status`. */
void stats_admin_request(unsigned status);
/* The admin API's accept failed (the client waits in the backlog for a retry). */
void stats_admin_accept_failed(enum accept_failure r);
/* The packet engine gave a verdict (dropped, or let the segment pass). */
void stats_packet_verdict(bool dropped);

const char *upstream_failure_name(enum upstream_failure r);
const char *accept_failure_name(enum accept_failure r);

#endif
