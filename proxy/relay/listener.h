/* One proxy's listening socket: accepts clients and starts their connections. */
#ifndef FINWAIT_PROXY_LISTENER_H
#define FINWAIT_PROXY_LISTENER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "rules/config.h"
#include "rules/fault.h"

struct relay_ctx;
struct cfg_gen;
struct proxy_stats;

/*
 * A listener lives as long as its handle or one of its connections does: a reload may stop
 * it while connections it accepted are still open, and they keep using its rng and name.
 */
struct listener {
    struct relay_ctx *rc;  /* the loop, packet engine, counters... it and its connections use */
    struct listener *next; /* the server's accepting listeners */
    struct cfg_gen *gen;   /* the configuration p belongs to (held) */
    const struct proxy_cfg *p;
    struct proxy_stats *stats; /* held: the counters of p's name, its connections take them */
    unsigned refs;             /* its two handles until closed, plus one per connection */
    int fd;                    /* the listening socket: finwait accepts on it itself (emfile.h) */
    uv_poll_t poll;            /* fd is readable: clients wait */
    uv_timer_t wait;           /* no descriptor free and none in reserve: try again later */
    bool waiting_said;         /* that wait was logged (once until a client is accepted again) */
    bool open;                 /* the handles must be closed */
    bool marked;               /* carries the packet engine's mark (client-leg packet faults) */
    uint32_t upstream_mark;    /* SO_MARK of its connections' upstream sockets, which finwait's
                                  interception rules let pass (0: no interception runs) */
    struct fault_rng rng;      /* fault decisions of this proxy's connections, in accept order */
    uint64_t next_id;          /* id of the next accepted connection */
    bool upstream_literal;     /* upstream is an address: no resolution per connection */
    struct sockaddr_storage upstream_addr;
    char addr_text[80]; /* the bound address, "127.0.0.1:18080" */
    uint16_t port;      /* the bound port (the ephemeral one when the config says 0) */
};

/* Bind and listen for proxy p of generation gen. Returns the listener, or NULL with *err set to
 * a negative UV_E* code after logging one line that names the proxy and the address. */
struct listener *listener_start(struct relay_ctx *rc, struct cfg_gen *gen,
                                const struct proxy_cfg *p, int *err);
/* A reload kept this listener (same proxy, same address): connections accepted from now on use
 * p's settings and faults; open ones keep the settings they started with (the server moves the
 * faults of open ones: inject_reload). `reseed`: the seed changed,
 * restart the proxy's fault decisions from it. */
void listener_update(struct listener *l, struct cfg_gen *gen, const struct proxy_cfg *p,
                     bool reseed);
/*
 * Where connection `fd`, accepted by l, goes: 1 and *dst, its original destination, when l's
 * proxy intercepts and a rule brought the connection here; 0 for the proxy's configured
 * upstream (it does not intercept, or the client addressed finwait itself and the proxy has an
 * upstream); UV_ELOOP when the client addressed finwait itself and there is nowhere else to go
 * (relaying it would connect finwait to itself); another negative UV_E* code when the
 * original destination cannot be read.
 */
int listener_upstream_of(struct listener *l, int fd, struct sockaddr_storage *dst);
/* Stop accepting. The listener is freed when its last connection is gone. */
void listener_stop(struct listener *l);
void listener_ref(struct listener *l);
void listener_unref(struct listener *l);

/* "127.0.0.1:80" or "[::1]:80". Returns buf. */
const char *sockaddr_text(const struct sockaddr *sa, char *buf, size_t len);
/* The same from a host as written ("localhost", "::1", "" for all interfaces) and a port. */
const char *hostport_text(const char *host, uint16_t port, char *buf, size_t len);

#endif
