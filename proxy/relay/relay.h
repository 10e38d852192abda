/*
 * What the relay (listeners and their connections) is handed by the program that runs it: the
 * loop, the shared resolver and packet engine, the counters, the seed of the fault decisions,
 * and two hooks for the registry of open connections. The relay includes nothing of the
 * control plane (server.h) nor of the admin API or the commands: it reaches what it needs
 * through this context, which its listeners point to.
 */
#ifndef FINWAIT_PROXY_RELAY_H
#define FINWAIT_PROXY_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "rules/config.h"

struct conn;
struct packet_engine;
struct resolver;
struct proxy_stats;

/*
 * A loaded configuration and everything still using it: the server while it is the running
 * one, and each listener and connection that started under it. A reload makes a new one;
 * the old one is freed when its last connection ends.
 */
struct cfg_gen {
    const struct config *cfg;
    struct config *owned; /* freed with the generation (a reload's), or NULL (the caller's) */
    unsigned refs;
};

/* A new generation of cfg (owned: freed with it, may be NULL), one reference; NULL when out of
 * memory. */
struct cfg_gen *cfg_gen_new(const struct config *cfg, struct config *owned);
struct cfg_gen *cfg_gen_ref(struct cfg_gen *g);
void cfg_gen_unref(struct cfg_gen *g);

struct relay_ctx;

/* The registry of open connections (the server's list, which the admin API reads). */
struct relay_hooks {
    void (*conn_add)(struct relay_ctx *rc, struct conn *c);  /* c was accepted */
    void (*conn_gone)(struct relay_ctx *rc, struct conn *c); /* c is about to be freed */
};

struct relay_ctx {
    uv_loop_t *loop;
    struct packet_engine *pe;        /* NULL unless a proxy has packet faults */
    struct resolver *dns;            /* upstream names (c-ares), opened at the first lookup */
    struct proxy_stats *stats;       /* counters per configured proxy name (stats.h) */
    uint64_t seed;                   /* of the fault decisions: the config's, or a random one */
    bool stopping;                   /* no connection is accepted any more */
    const struct relay_hooks *hooks; /* never NULL */
};

#endif
