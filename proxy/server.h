/*
 * A running finwait: its loop, listeners, open connections, signals and packet engine.
 */
#ifndef FINWAIT_PROXY_SERVER_H
#define FINWAIT_PROXY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "proxy/relay/relay.h"
#include "proxy/memtrim.h"
#include "rules/config.h"

struct listener;
struct conn;
struct packet_engine;
struct intercept_rules;
struct admin;
struct resolver;
struct watch;
struct proxy_stats;
struct expiry;

struct server {
    struct relay_ctx relay;     /* what the listeners and connections are handed: the loop,
                                   packet engine, resolver, counters, seed, stopping */
    struct cfg_gen *gen;        /* the running configuration (gen->cfg) */
    struct listener *listeners; /* accepting, in the order of the config's proxies */
    struct conn *conns;         /* open connections, newest first */
    size_t nconns;
    uv_signal_t sig_int;
    uv_signal_t sig_term;
    uv_signal_t sig_hup;
    uv_timer_t shutdown_timer;
    struct memtrim trim;        /* memory back to the system after a peak of connections */
    uv_timer_t verdict_timer;   /* the teardown verdicts that need time to pass (relay/facts.c) */
    uv_tcp_t first_tcp;         /* never used: see server_start */
    bool signals;               /* sig_* are set up (not in the demo) */
    int pending;                /* handles still to close before the loop can end */
    struct intercept_rules *ir; /* NULL unless a proxy intercepts (`intercept:`) */
    struct admin *admin;        /* the HTTP API, when the config has `admin` */
    char *file;                 /* the configuration file SIGHUP reads again, or NULL */
    struct watch *watch;        /* reloads `file` when it changes, or NULL (--no-watch) */
    struct expiry *expiry;      /* the clocks of `for:` faults */
    const struct config_overrides *ov; /* the command line's, for every load; may be NULL */
    bool seed_logged;                  /* the random seed was logged (once is enough) */
};

/* What a real run (not the demo) takes from the command line. */
struct server_opts {
    const char *file; /* the configuration file, read again on SIGHUP; NULL: none (--admin) */
    bool watch;       /* reload `file` when it changes, without a signal */
    const struct config_overrides *ov; /* applied to every configuration loaded; may be NULL */
};

/*
 * Start every enabled proxy of `cfg` on `loop` (cfg must outlive the server). With `opts`
 * (a real run, not the demo: opts must outlive the server), SIGINT/SIGTERM start a graceful
 * stop, SIGHUP (and a change, when watched) reloads opts->file, and `admin` starts the HTTP
 * API. Returns 0, or a negative code after logging why (e.g. a listen address in use); then
 * nothing is left running.
 */
int server_start(struct server *srv, uv_loop_t *loop, const struct config *cfg,
                 const struct server_opts *opts);

/* Stop accepting; open connections get up to shutdown_timeout to finish, then are reset.
 * The loop ends when everything is closed. */
void server_stop(struct server *srv);

/*
 * Replace the running configuration by `cfg` (taken over, freed when no longer used). Kept
 * proxies (same name and listen address, or the same fixed address under a new name) keep
 * their socket, added ones start listening, removed or disabled ones stop; open connections
 * finish under the configuration they started with. If anything of `cfg` cannot start (a
 * listen address in use, the packet engine), nothing changes and -1 is returned with the
 * reason in `why` (which may be NULL).
 */
int server_reload(struct server *srv, struct config *cfg, char *why, size_t len);

/* After the loop has ended: let go of the running configuration (the one given to
 * server_start stays the caller's to free). */
void server_release(struct server *srv);

/* Run `cfg` until SIGINT/SIGTERM; SIGHUP reloads it from opts->file. Returns the process exit
 * code (0, or 1 when a proxy could not start). */
int server_run(const struct config *cfg, const struct server_opts *opts);

/* What server__reload is told about the change. */
#define RELOAD_QUIET 1u /* finwait's own (a `for:` fault ran out): no "reloaded" line */
#define RELOAD_ASKED                                                                               \
    2u /* asked fault by fault (the admin API): a fault that ran out and is                        \
          in cfg was added again on purpose, and attaches */
/* A listener a reload could not start: the address as configured and libuv's error. */
struct listen_failure {
    char addr[300]; /* "127.0.0.1:3310", ":3310" for every interface */
    int err;        /* UV_EADDRINUSE, ...; 0 when the reload failed for another reason */
};
/* server_reload with RELOAD_* flags; `lf` (may be NULL) says which listen failed. */
int server__reload(struct server *srv, struct config *cfg, unsigned flags, char *why, size_t len,
                   struct listen_failure *lf);

#endif
