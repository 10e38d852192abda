/*
 * A running finwait: its loop, listeners, open connections, signals and packet engine.
 */
#ifndef FINWAIT_PROXY_SERVER_H
#define FINWAIT_PROXY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "rules/config.h"

struct listener;
struct conn;
struct packet_engine;

struct server {
    uv_loop_t *loop;
    const struct config *cfg;
    struct listener *listeners; /* one per enabled proxy */
    size_t nlisteners;
    struct conn *conns; /* open connections, newest first */
    size_t nconns;
    uv_signal_t sig_int;
    uv_signal_t sig_term;
    uv_timer_t shutdown_timer;
    bool signals; /* sig_* are set up (not in the demo) */
    bool stopping;
    int pending;              /* handles still to close before the loop can end */
    struct packet_engine *pe; /* NULL unless a proxy has packet faults */
    uint64_t seed;            /* of the fault decisions: the config's, or a random one */
};

/*
 * Start every enabled proxy of `cfg` on `loop` (cfg must outlive the server). With
 * `signals`, SIGINT/SIGTERM start a graceful stop. Returns 0, or a negative code after
 * logging why (e.g. a listen address in use); then nothing is left running.
 */
int server_start(struct server *srv, uv_loop_t *loop, const struct config *cfg, bool signals);

/* Stop accepting; open connections get up to shutdown_timeout to finish, then are reset.
 * The loop ends when everything is closed. */
void server_stop(struct server *srv);

/* Run `cfg` until SIGINT/SIGTERM. Returns the process exit code (0, or 1 when a proxy could
 * not start). */
int server_run(const struct config *cfg);

/* Called by conn.c when a connection starts and when it is gone. */
void server__conn_add(struct server *srv, struct conn *c);
void server__conn_gone(struct server *srv, struct conn *c);

#endif
