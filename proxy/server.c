#include "proxy/server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/bufpool.h"
#include "proxy/conn.h"
#include "proxy/listener.h"
#include "proxy/log.h"
#include "proxy/packet.h"

static void on_closed(uv_handle_t *h)
{
    struct server *srv = h->data;

    srv->pending--;
}

static void close_handle(struct server *srv, uv_handle_t *h)
{
    h->data = srv;
    srv->pending++;
    uv_close(h, on_closed);
}

/* Everything is stopped and no connection is left: close the server's own handles so the
 * loop can end. */
static void server_finish(struct server *srv)
{
    if (uv_is_closing((uv_handle_t *)&srv->shutdown_timer))
        return;
    if (srv->signals) {
        close_handle(srv, (uv_handle_t *)&srv->sig_int);
        close_handle(srv, (uv_handle_t *)&srv->sig_term);
    }
    close_handle(srv, (uv_handle_t *)&srv->shutdown_timer);
    if (srv->pe) {
        struct packet_engine *pe = srv->pe;
        srv->pe = NULL; /* closing it releases flows, which may bring us back here */
        packet_engine_close(pe);
    }
}

void server__conn_add(struct server *srv, struct conn *c)
{
    c->next = srv->conns;
    c->prev = NULL;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
}

void server__conn_gone(struct server *srv, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    if (srv->stopping && srv->nconns == 0)
        server_finish(srv);
}

static void on_shutdown_timer(uv_timer_t *t)
{
    struct server *srv = t->data;
    struct conn *c;

    LOG(LOG_LEVEL_WARN, NULL, "shutdown", "shutdown_timeout: resetting %zu open connection(s)",
        srv->nconns);
    /* conn_abort never frees at once, so the list stays valid while we walk it */
    for (c = srv->conns; c; c = c->next)
        conn_abort(c, "shutdown_timeout");
    /* connections whose sockets are gone may still wait for the engine to finish watching
     * their close (a LAST_ACK that never ends): stop watching */
    if (srv->pe) {
        struct packet_engine *pe = srv->pe;
        srv->pe = NULL;
        packet_engine_close(pe);
    }
}

static void on_listener_closed(uv_handle_t *h)
{
    (void)h;
}

void server_stop(struct server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    for (size_t i = 0; i < srv->nlisteners; i++)
        listener_stop(&srv->listeners[i], on_listener_closed);
    if (srv->nconns == 0) {
        server_finish(srv);
        return;
    }
    LOG(LOG_LEVEL_INFO, NULL, "shutdown", "stopping: %zu open connection(s), up to %llu ms",
        srv->nconns, (unsigned long long)srv->cfg->shutdown_timeout_ms);
    srv->shutdown_timer.data = srv;
    uv_timer_start(&srv->shutdown_timer, on_shutdown_timer, srv->cfg->shutdown_timeout_ms, 0);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct server *srv = s->data;

    LOG(LOG_LEVEL_INFO, NULL, "signal", "%s received", signum == SIGINT ? "SIGINT" : "SIGTERM");
    server_stop(srv);
}

static uint64_t random_seed(void)
{
    uint64_t seed = 0;

    if (uv_random(NULL, NULL, &seed, sizeof seed, 0, NULL) != 0)
        seed = uv_hrtime();
    return seed;
}

/* True if some fault applies to only a share of connections: then the seed matters. */
static bool has_random_faults(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->nproxies; i++)
        for (size_t j = 0; j < cfg->proxies[i].nfaults; j++)
            if (cfg->proxies[i].faults[j].probability < 1.0)
                return true;
    return false;
}

int server_start(struct server *srv, uv_loop_t *loop, const struct config *cfg, bool signals)
{
    char err[512];
    size_t n = 0;
    int r;

    memset(srv, 0, sizeof *srv);
    srv->loop = loop;
    srv->cfg = cfg;
    srv->seed = cfg->has_seed ? cfg->seed : random_seed();
    if (!cfg->has_seed && has_random_faults(cfg))
        LOG(LOG_LEVEL_INFO, NULL, "seed",
            "fault decisions use seed %llu (add 'seed: %llu' to the config to repeat them)",
            (unsigned long long)srv->seed, (unsigned long long)srv->seed);
    uv_timer_init(loop, &srv->shutdown_timer);
    srv->shutdown_timer.data = srv;

    if (config_has_packet_faults(cfg)) {
        r = packet_engine_open(loop, &srv->pe, err, sizeof err);
        if (r < 0) {
            LOG(LOG_LEVEL_ERROR, NULL, "packet_engine", "%s", err);
            goto fail_timer;
        }
    }
    srv->listeners = calloc(cfg->nproxies ? cfg->nproxies : 1, sizeof *srv->listeners);
    if (!srv->listeners) {
        r = UV_ENOMEM;
        goto fail_engine;
    }
    for (size_t i = 0; i < cfg->nproxies; i++) {
        if (!cfg->proxies[i].enabled) {
            LOG(LOG_LEVEL_INFO, cfg->proxies[i].name, "disabled",
                "disabled (enabled: false): not listening");
            continue;
        }
        r = listener_start(&srv->listeners[n], srv, &cfg->proxies[i]);
        if (r < 0)
            goto fail_listeners;
        n++;
        srv->nlisteners = n;
    }
    if (signals) {
        uv_signal_init(loop, &srv->sig_int);
        uv_signal_init(loop, &srv->sig_term);
        srv->sig_int.data = srv;
        srv->sig_term.data = srv;
        uv_signal_start(&srv->sig_int, on_signal, SIGINT);
        uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
        srv->signals = true;
    }
    return 0;

fail_listeners:
    for (size_t i = 0; i < n; i++)
        listener_stop(&srv->listeners[i], on_listener_closed);
fail_engine:
    if (srv->pe)
        packet_engine_close(srv->pe);
    srv->pe = NULL;
fail_timer:
    uv_close((uv_handle_t *)&srv->shutdown_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT); /* let the closes complete */
    free(srv->listeners);
    srv->listeners = NULL;
    return r;
}

int server_run(const struct config *cfg)
{
    uv_loop_t loop;
    struct server srv;
    int rc = 0;

    signal(SIGPIPE, SIG_IGN);
    log_init(stderr, cfg->log_format, cfg->log_level);
    uv_loop_init(&loop);
    if (server_start(&srv, &loop, cfg, true) < 0) {
        rc = 1;
    } else {
        uv_run(&loop, UV_RUN_DEFAULT);
        LOG(LOG_LEVEL_INFO, NULL, "exit", "stopped");
        free(srv.listeners);
    }
    uv_loop_close(&loop);
    bufpool_drain();
    conn__drain_pools();
    return rc;
}
