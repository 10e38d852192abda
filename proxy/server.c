#include "proxy/server.h"

#include <assert.h>
#include <stddef.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/admin/admin.h"
#include "proxy/relay/bufpool.h"
#include "proxy/relay/conn.h"
#include "proxy/relay/facts.h"
#include "proxy/faults/expiry.h"
#include "proxy/faults/inject.h"
#include "proxy/faults/intercept_rules.h"
#include "proxy/relay/listener.h"
#include "proxy/fdlimit.h"
#include "proxy/log.h"
#include "proxy/faults/packet.h"
#include "proxy/relay/resolve.h"
#include "proxy/stats.h"
#include "proxy/watch.h"
#include "rules/diag.h"
#include "rules/plan.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

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
        close_handle(srv, (uv_handle_t *)&srv->sig_hup);
    }
    close_handle(srv, (uv_handle_t *)&srv->shutdown_timer);
    close_handle(srv, memtrim_handle(&srv->trim));
    close_handle(srv, (uv_handle_t *)&srv->verdict_timer);
    close_handle(srv, (uv_handle_t *)&srv->first_tcp);
    if (srv->expiry)
        expiry_close(srv->expiry);
    srv->expiry = NULL;
    if (srv->relay.dns)
        resolver_close(srv->relay.dns);
    srv->relay.dns = NULL;
    if (srv->relay.pe) {
        struct packet_engine *pe = srv->relay.pe;
        srv->relay.pe = NULL; /* closing it releases flows, which may bring us back here */
        packet_engine_close(pe);
    }
}

/* The address families listener l receives: an IPv4 address IPv4 only, `::` both (a
 * dual-stack socket), another IPv6 address IPv6 only. */
static unsigned listener_families(struct listener *l)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(l->fd, (struct sockaddr *)&ss, &len) != 0)
        return INTERCEPT_V4 | INTERCEPT_V6;
    if (ss.ss_family == AF_INET)
        return INTERCEPT_V4;
    if (IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
        return INTERCEPT_V4 | INTERCEPT_V6;
    return INTERCEPT_V6;
}

/*
 * The interception rules for configuration cfg, whose proxy j is served by by_proxy[j] (NULL:
 * not listening): rules for each intercepting proxy that listens, none when there is none.
 * Returns 0, or a negative UV_E* code with one sentence in err (the rules as they were).
 */
static int intercept_sync(struct server *srv, const struct config *cfg,
                          struct listener *const *by_proxy, char *err, size_t errlen)
{
    struct intercept_target t[64];
    size_t n = 0;
    int r;

    for (size_t j = 0; j < cfg->nproxies; j++) {
        if (!by_proxy[j] || !cfg->proxies[j].intercept.on)
            continue;
        if (n == sizeof t / sizeof t[0]) {
            snprintf(err, errlen, "too many intercepting proxies (at most %zu)", n);
            return UV_E2BIG;
        }
        t[n++] = (struct intercept_target){cfg->proxies[j].name, &cfg->proxies[j].intercept,
                                           by_proxy[j]->port, listener_families(by_proxy[j])};
    }
    if (n == 0 && srv->ir) {
        intercept_rules_remove(srv->ir);
        srv->ir = NULL;
        LOG(LOG_LEVEL_INFO, NULL, "intercept", "interception rules removed: no proxy intercepts");
        return 0;
    }
    r = intercept_rules_apply(&srv->ir, t, n, err, errlen);
    return r;
}

/* intercept_sync() for the listeners started with cfg (server_start). */
static int intercept_sync_listeners(struct server *srv, const struct config *cfg, char *err,
                                    size_t errlen)
{
    struct listener **by_proxy = calloc(cfg->nproxies + 1, sizeof *by_proxy);
    int r;

    if (!by_proxy) {
        snprintf(err, errlen, "out of memory");
        return UV_ENOMEM;
    }
    for (struct listener *l = srv->listeners; l; l = l->next)
        by_proxy[l->p - cfg->proxies] = l;
    r = intercept_sync(srv, cfg, by_proxy, err, errlen);
    free(by_proxy);
    return r;
}

/* intercept_sync() for the next configuration cfg of a reload, before it commits: a proxy is
 * served by the listener the plan starts for it or the running one it keeps. */
static int intercept_sync_plan(struct server *srv, const struct config *cfg,
                               const struct plan *plan, struct listener *const *running,
                               struct listener *const *started, char *err, size_t errlen)
{
    struct listener **by_proxy = calloc(cfg->nproxies + 1, sizeof *by_proxy);
    int r;

    if (!by_proxy) {
        snprintf(err, errlen, "out of memory");
        return UV_ENOMEM;
    }
    for (size_t k = 0; k < plan->n; k++) {
        const struct plan_step *st = &plan->steps[k];
        if (st->action == PLAN_START)
            by_proxy[st->new_index] = started[st->new_index];
        else if (st->action == PLAN_KEEP)
            by_proxy[st->new_index] = running[st->old_index];
    }
    r = intercept_sync(srv, cfg, by_proxy, err, errlen);
    free(by_proxy);
    return r;
}

/* finwait's upstream connections carry the mark its interception rules let pass, on every
 * proxy while one intercepts: none of them is taken back to finwait. */
static void intercept_mark_listeners(struct server *srv)
{
    for (struct listener *l = srv->listeners; l; l = l->next)
        l->upstream_mark = srv->ir ? INTERCEPT_MARK : 0;
}

static void intercept_stop(struct server *srv)
{
    intercept_rules_remove(srv->ir);
    srv->ir = NULL;
}

static void server_conn_add(struct relay_ctx *rc, struct conn *c)
{
    struct server *srv = container_of(rc, struct server, relay);

    c->next = srv->conns;
    c->prev = NULL;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    memtrim_conns(&srv->trim, srv->nconns);
}

static void server_conn_gone(struct relay_ctx *rc, struct conn *c)
{
    struct server *srv = container_of(rc, struct server, relay);

    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    memtrim_conns(&srv->trim, srv->nconns);
    if (srv->relay.stopping && srv->nconns == 0)
        server_finish(srv);
}

/* How often the verdicts that need time (a peer holding a closed connection, abandoned
 * connections) look at the open connections. */
#define VERDICT_SWEEP_MS 250

static void on_verdict_timer(uv_timer_t *t)
{
    struct server *srv = t->data;

    facts_sweep(srv->conns);
}

static const struct relay_hooks server_hooks = {
    .conn_add = server_conn_add,
    .conn_gone = server_conn_gone,
};

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
    if (srv->relay.pe) {
        struct packet_engine *pe = srv->relay.pe;
        srv->relay.pe = NULL;
        packet_engine_close(pe);
    }
}

static void stop_listeners(struct listener *l)
{
    while (l) {
        struct listener *next = l->next;
        listener_stop(l); /* may free l */
        l = next;
    }
}

void server_stop(struct server *srv)
{
    if (srv->relay.stopping)
        return;
    /* time-boxed faults end now: open connections drain without them */
    expiry_revert_all(srv->expiry);
    srv->relay.stopping = true;
    if (srv->watch)
        watch_stop(srv->watch);
    srv->watch = NULL;
    if (srv->admin)
        admin_stop(srv->admin);
    srv->admin = NULL;
    /* the application's connections go straight to their servers again from now on */
    intercept_stop(srv);
    stop_listeners(srv->listeners);
    srv->listeners = NULL;
    if (srv->nconns == 0) {
        server_finish(srv);
        return;
    }
    LOG(LOG_LEVEL_INFO, NULL, "shutdown", "stopping: %zu open connection(s), up to %llu ms",
        srv->nconns, (unsigned long long)srv->gen->cfg->shutdown_timeout_ms);
    srv->shutdown_timer.data = srv;
    uv_timer_start(&srv->shutdown_timer, on_shutdown_timer, srv->gen->cfg->shutdown_timeout_ms, 0);
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

/*
 * The open connections of kept proxy op (accepted by l) take the proxy's next settings np:
 * faults attach, change and detach on them (inject.c says what each means). A connection
 * accepted under a renamed socket's earlier proxy stays as it is.
 */
static void reload_conns(struct server *srv, struct listener *l, struct cfg_gen *gen,
                         const struct proxy_cfg *op, const struct proxy_cfg *np,
                         const struct plan_step *st)
{
    struct conn *c, *next;

    for (c = srv->conns; c; c = next) {
        next = c->next; /* c may close, never be freed at once */
        if (c->l == l && c->p == op)
            inject_reload(c, gen, np, st->faults, st->nfaults);
    }
}

/* Stop the listeners a failed reload had started. */
static void stop_started(struct listener **started, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (started[j])
            listener_stop(started[j]);
}

int server_reload(struct server *srv, struct config *cfg, char *why, size_t len)
{
    return server__reload(srv, cfg, 0, why, len, NULL);
}

int server__reload(struct server *srv, struct config *cfg, unsigned flags, char *why, size_t len,
                   struct listen_failure *lf)
{
    const struct config *old = srv->gen->cfg;
    struct cfg_gen *gen = NULL;
    struct listener **running = NULL, **next_l = NULL, **tail;
    uint16_t *bound = NULL;
    struct plan plan = {0};
    bool reseed;
    uint64_t old_seed = srv->relay.seed;
    char err[512];
    int r = -1;

    if (why && len)
        why[0] = '\0';
    if (lf)
        *lf = (struct listen_failure){.addr = "", .err = 0};
    if (srv->relay.stopping) {
        if (why)
            snprintf(why, len, "finwait is stopping");
        config_free(cfg);
        return -1;
    }
    /* faults that ran out stay out while cfg defines them as they were */
    expiry_filter(srv->expiry, cfg, flags & RELOAD_ASKED);
    gen = cfg_gen_new(cfg, cfg);
    running = calloc(old->nproxies + 1, sizeof *running);
    bound = calloc(old->nproxies + 1, sizeof *bound);
    next_l = calloc(cfg->nproxies + 1, sizeof *next_l);
    if (!gen || !running || !bound || !next_l) {
        if (!gen)
            config_free(cfg);
        goto oom;
    }
    /* Every running listener serves one enabled proxy of the running configuration. */
    for (struct listener *l = srv->listeners; l; l = l->next) {
        size_t i = (size_t)(l->p - old->proxies);
        assert(i < old->nproxies && !running[i]);
        running[i] = l;
        bound[i] = l->port;
    }
    if (plan_make(old, bound, cfg, &plan) < 0)
        goto oom;
    if (config_has_packet_faults(cfg) && !srv->relay.pe &&
        packet_engine_open(srv->relay.loop, &srv->relay.pe, err, sizeof err) < 0) {
        LOG(LOG_LEVEL_ERROR, NULL, "reload", "reload failed: %s", err);
        if (why)
            snprintf(why, len, "%s", err);
        goto out;
    }
    /* A changed seed restarts the decisions of every proxy from it, new ones included. */
    reseed = cfg->has_seed && cfg->seed != srv->relay.seed;
    if (reseed)
        srv->relay.seed = cfg->seed;

    /* Start everything new before touching what runs, so a failure leaves it as it was
     * (the plan lists the starts first). */
    for (size_t k = 0; k < plan.n && plan.steps[k].action == PLAN_START; k++) {
        const struct proxy_cfg *p = &cfg->proxies[plan.steps[k].new_index];
        next_l[plan.steps[k].new_index] = listener_start(&srv->relay, gen, p, &r);
        if (next_l[plan.steps[k].new_index])
            continue;
        LOG(LOG_LEVEL_ERROR, NULL, "reload",
            "reload failed: proxy '%s' cannot start; the running configuration is kept", p->name);
        if (why)
            snprintf(why, len, "proxy '%s' cannot listen on %s: %s", p->name,
                     hostport_text(p->listen_host, p->listen_port, err, sizeof err),
                     uv_strerror(r));
        if (lf) {
            hostport_text(p->listen_host, p->listen_port, lf->addr, sizeof lf->addr);
            lf->err = r;
        }
        stop_started(next_l, cfg->nproxies);
        srv->relay.seed = old_seed;
        r = -1;
        goto out;
    }

    /* The rules for the next configuration, before the commit: a failure keeps it all. */
    r = intercept_sync_plan(srv, cfg, &plan, running, next_l, err, sizeof err);
    if (r < 0) {
        LOG(LOG_LEVEL_ERROR, NULL, "reload", "reload failed: %s", err);
        if (why)
            snprintf(why, len, "%s", err);
        stop_started(next_l, cfg->nproxies);
        srv->relay.seed = old_seed;
        r = -1;
        goto out;
    }

    /* Commit: from here nothing fails. */
    for (size_t k = 0; k < plan.n; k++) {
        const struct plan_step *st = &plan.steps[k];
        struct listener *l = st->old_index != PLAN_NONE ? running[st->old_index] : NULL;
        if (st->action == PLAN_KEEP) {
            if (!st->renamed)
                reload_conns(srv, l, gen, &old->proxies[st->old_index],
                             &cfg->proxies[st->new_index], st);
            listener_update(l, gen, &cfg->proxies[st->new_index], reseed);
            next_l[st->new_index] = l;
        } else if (st->action == PLAN_STOP) {
            LOG(LOG_LEVEL_INFO, l->p->name, "removed", "no longer listening on %s", l->addr_text);
            listener_stop(l); /* may free l */
        }
    }
    tail = &srv->listeners;
    for (size_t j = 0; j < cfg->nproxies; j++) {
        if (!cfg->proxies[j].enabled)
            LOG(LOG_LEVEL_INFO, cfg->proxies[j].name, "disabled",
                "disabled (enabled: false): not listening");
        if (!next_l[j])
            continue;
        *tail = next_l[j];
        tail = &next_l[j]->next;
    }
    *tail = NULL;
    intercept_mark_listeners(srv);
    expiry_commit(srv->expiry, cfg, &plan); /* while the old faults are still there */
    cfg_gen_unref(srv->gen);
    srv->gen = cfg_gen_ref(gen);
    log_init(log_out(), cfg->log_format, cfg->log_level);
    if (!cfg->has_seed && !srv->seed_logged && has_random_faults(cfg)) {
        LOG(LOG_LEVEL_INFO, NULL, "seed", "fault decisions use seed %llu",
            (unsigned long long)srv->relay.seed);
        srv->seed_logged = true;
    }
    /* Always printed, like the listening lines: scripts wait for it. */
    if (!(flags & RELOAD_QUIET))
        log__event(LOG_LEVEL_INFO, NULL, "reloaded", NULL, 0,
                   "reloaded %s: %zu prox%s kept, %zu added, %zu removed; open connections take "
                   "the kept proxies' faults",
                   cfg->path, plan.nkeep, plan.nkeep == 1 ? "y" : "ies", plan.nstart, plan.nstop);
    r = 0;
    goto out;
oom:
    LOG(LOG_LEVEL_ERROR, NULL, "reload", "reload failed: out of memory");
    if (why)
        snprintf(why, len, "out of memory");
out:
    /* the counters follow the running configuration: a removed proxy's series go, a new
     * one's (a failed reload's never) start */
    stats_sync(&srv->relay.stats, srv->gen->cfg);
    plan_free(&plan);
    free(running);
    free(bound);
    free(next_l);
    if (gen)
        cfg_gen_unref(gen);
    return r;
}

/* Read the configuration file again and make it the running one (SIGHUP, or the file changed):
 * a file with errors, or one whose proxies cannot start, changes nothing. */
static void reload_file(struct server *srv)
{
    struct config *cfg = NULL;
    struct diag d;
    char *text;
    size_t len;
    int r;

    if (!srv->file || srv->relay.stopping)
        return;
    diag_init(&d);
    r = config_read_file(srv->file, &text, &len, &d);
    if (r == 0) {
        /* what the watcher compares with: it must not load this content a second time */
        if (srv->watch)
            watch_seen(srv->watch, text, len);
        r = config_load_string_with(srv->file, text, len, srv->ov, &cfg, &d);
        free(text);
    }
    if (r != 0) {
        if (log_format_get() == LOG_FORMAT_JSON) /* keep the stream one object per line */
            for (size_t i = 0; i < d.n; i++)
                LOG(LOG_LEVEL_ERROR, NULL, "config_error", "%s:%u:%u: error: %s",
                    d.msgs[i].file ? d.msgs[i].file : srv->file, d.msgs[i].line, d.msgs[i].col,
                    d.msgs[i].text);
        else
            diag_print(&d, log_out());
        LOG(LOG_LEVEL_ERROR, NULL, "reload",
            "reload failed: %s: %zu error%s; the running configuration is kept", srv->file, d.n,
            d.n == 1 ? "" : "s");
        diag_free(&d);
        stats_reload(RELOAD_FILE, false);
        return;
    }
    diag_free(&d);
    if ((cfg->admin_host != NULL) != (srv->admin != NULL) ||
        (cfg->admin_host &&
         (strcmp(cfg->admin_host, srv->gen->cfg->admin_host ? srv->gen->cfg->admin_host : "") !=
              0 ||
          cfg->admin_port != srv->gen->cfg->admin_port)))
        LOG(LOG_LEVEL_WARN, NULL, "reload", "a changed 'admin' takes effect at the next start");
    r = server_reload(srv, cfg, NULL, 0);
    stats_reload(RELOAD_FILE, r == 0);
    if (r == 0 && srv->admin)
        admin_file_reloaded(srv->admin);
}

static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    reload_file(s->data);
}

static void on_file_changed(void *arg)
{
    struct server *srv = arg;

    LOG(LOG_LEVEL_INFO, NULL, "watch", "%s changed: reloading", srv->file);
    reload_file(srv);
}

int server_start(struct server *srv, uv_loop_t *loop, const struct config *cfg,
                 const struct server_opts *opts)
{
    bool signals = opts != NULL;
    struct listener **tail;
    char err[512];
    int r;

    memset(srv, 0, sizeof *srv);
    srv->relay.loop = loop;
    srv->relay.hooks = &server_hooks;
    srv->gen = cfg_gen_new(cfg, NULL);
    if (!srv->gen)
        return UV_ENOMEM;
    if (opts && opts->file) /* SIGHUP and the admin API read the file again */
        srv->file = strdup(opts->file);
    if (opts)
        srv->ov = opts->ov;
    srv->relay.seed = cfg->has_seed ? cfg->seed : random_seed();
    if (!cfg->has_seed && has_random_faults(cfg)) {
        LOG(LOG_LEVEL_INFO, NULL, "seed",
            "fault decisions use seed %llu (add 'seed: %llu' to the config to repeat them)",
            (unsigned long long)srv->relay.seed, (unsigned long long)srv->relay.seed);
        srv->seed_logged = true;
    }
    uv_timer_init(loop, &srv->shutdown_timer);
    srv->shutdown_timer.data = srv;
    memtrim_init(&srv->trim, loop);
    uv_timer_init(loop, &srv->verdict_timer);
    srv->verdict_timer.data = srv;
    uv_timer_start(&srv->verdict_timer, on_verdict_timer, VERDICT_SWEEP_MS, VERDICT_SWEEP_MS);
    /* libuv opens a descriptor of its own at a loop's first TCP handle, held in reserve for an
     * accept that finwait does not use (it accepts itself: relay/emfile.h). Taken now, so that
     * finwait's count of descriptors does not step up at its first client. */
    uv_tcp_init(loop, &srv->first_tcp);
    if ((r = expiry_new(&srv->expiry, srv)) < 0)
        goto fail;

    if (config_has_packet_faults(cfg)) {
        r = packet_engine_open(loop, &srv->relay.pe, err, sizeof err);
        if (r < 0) {
            LOG(LOG_LEVEL_ERROR, NULL, "packet_engine", "%s", err);
            goto fail;
        }
    }
    /* Before the listeners say they listen: a change made once they do must be seen. Without
     * a watcher finwait still runs (SIGHUP reloads), so a failure is a warning. */
    if (srv->file && opts->watch &&
        (r = watch_start(&srv->watch, loop, srv->file, cfg->source, cfg->source_len,
                         on_file_changed, srv)) < 0)
        LOG(LOG_LEVEL_WARN, NULL, "watch", "cannot watch %s (%s): reload it with SIGHUP", srv->file,
            uv_strerror(r));
    tail = &srv->listeners;
    for (size_t i = 0; i < cfg->nproxies; i++) {
        if (!cfg->proxies[i].enabled) {
            LOG(LOG_LEVEL_INFO, cfg->proxies[i].name, "disabled",
                "disabled (enabled: false): not listening");
            continue;
        }
        *tail = listener_start(&srv->relay, srv->gen, &cfg->proxies[i], &r);
        if (!*tail)
            goto fail;
        tail = &(*tail)->next;
    }
    r = intercept_sync_listeners(srv, cfg, err, sizeof err);
    if (r < 0) {
        LOG(LOG_LEVEL_ERROR, NULL, "intercept", "%s", err);
        goto fail;
    }
    intercept_mark_listeners(srv);
    if (signals && cfg->admin_host &&
        admin_start(&srv->admin, srv, cfg->admin_host, cfg->admin_port) < 0) {
        r = -1;
        goto fail;
    }
    if (signals) {
        uv_signal_init(loop, &srv->sig_int);
        uv_signal_init(loop, &srv->sig_term);
        uv_signal_init(loop, &srv->sig_hup);
        srv->sig_int.data = srv;
        srv->sig_term.data = srv;
        srv->sig_hup.data = srv;
        uv_signal_start(&srv->sig_int, on_signal, SIGINT);
        uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
        uv_signal_start(&srv->sig_hup, on_sighup, SIGHUP);
        srv->signals = true;
    }
    stats_sync(&srv->relay.stats, cfg);    /* the disabled proxies' too */
    expiry_commit(srv->expiry, cfg, NULL); /* the clocks of `for:` start with the proxies */
    return 0;

fail:
    intercept_stop(srv);
    stop_listeners(srv->listeners);
    srv->listeners = NULL;
    if (srv->watch)
        watch_stop(srv->watch);
    srv->watch = NULL;
    if (srv->relay.pe)
        packet_engine_close(srv->relay.pe);
    srv->relay.pe = NULL;
    uv_close((uv_handle_t *)&srv->shutdown_timer, NULL);
    uv_close(memtrim_handle(&srv->trim), NULL);
    uv_close((uv_handle_t *)&srv->verdict_timer, NULL);
    uv_close((uv_handle_t *)&srv->first_tcp, NULL);
    if (srv->expiry)
        expiry_close(srv->expiry);
    srv->expiry = NULL;
    uv_run(loop, UV_RUN_DEFAULT); /* let the closes complete */
    stats_free_all(&srv->relay.stats);
    cfg_gen_unref(srv->gen);
    srv->gen = NULL;
    free(srv->file);
    srv->file = NULL;
    return r;
}

void server_release(struct server *srv)
{
    stats_free_all(&srv->relay.stats);
    if (srv->gen)
        cfg_gen_unref(srv->gen);
    srv->gen = NULL;
    free(srv->file);
    srv->file = NULL;
}

/* The first line: the version and the descriptors finwait may use (the soft limit raised to the
 * hard one first), always printed like the listening lines. */
static void log_start_line(void)
{
    struct fd_limit fl;
    char text[160];

    fd_limit_get(&fl, true);
    struct log_kv kv[] = {{"version", FINWAIT_VERSION, 0},
                          {"max_fds", NULL, fl.soft},
                          {"max_fds_before", NULL, fl.before},
                          {"connections", NULL, fd_limit_connections(&fl)}};
    log__event(fl.err ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, NULL, "start", kv, 4, "finwait %s: %s",
               FINWAIT_VERSION, fd_limit_text(&fl, text, sizeof text));
}

int server_run(const struct config *cfg, const struct server_opts *opts)
{
    uv_loop_t loop;
    struct server srv;
    int rc = 0;

    signal(SIGPIPE, SIG_IGN);
    log_init(stderr, cfg->log_format, cfg->log_level);
    log_start_line();
    uv_loop_init(&loop);
    if (server_start(&srv, &loop, cfg, opts) < 0) {
        rc = 1;
    } else {
        uv_run(&loop, UV_RUN_DEFAULT);
        LOG(LOG_LEVEL_INFO, NULL, "exit", "stopped");
        server_release(&srv);
    }
    uv_loop_close(&loop);
    bufpool_drain();
    conn__drain_pools();
    return rc;
}
