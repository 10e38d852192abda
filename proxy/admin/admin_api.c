#include "proxy/admin/admin_api.h"

#include <ctype.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "proxy/admin/admin_access.h"
#include "proxy/admin/admin_conns.h"
#include "proxy/admin/admin_findings.h"
#include "proxy/admin/admin_doc.h"
#include "proxy/relay/conn.h"
#include "proxy/faults/expiry.h"
#include "proxy/admin/events.h"
#include "proxy/relay/listener.h"
#include "proxy/log.h"
#include "proxy/admin/metrics.h"
#include "proxy/server.h"
#include "proxy/stats.h"
#include "rules/config.h"
#include "rules/diag.h"
#include "rules/value.h"

/* Bounds on one request, so that refusing a bad one costs little (the loop relays meanwhile):
 * a toxic has a handful of attributes, a name fits a log line, a /populate a test's proxies. */
#define ATTRIBUTES_MAX 32
#define NAME_MAX_LEN   200
#define POPULATE_MAX   256

/* The Toxiproxy release whose API finwait answers: GET /version's `version`. */
#define TOXIPROXY_API_VERSION "2.12.0"

struct admin_api {
    struct server *srv;
    json_t *doc;   /* the running configuration in finwait's schema: what changes edit */
    json_t *bound; /* name -> {"as": the document's listen, "at": the address it bound} */
};

/* What a handler answers. */
struct reply {
    unsigned status;
    json_t *json; /* NULL: no body (204) */
};

static const char *str_member(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * Toxiproxy decodes a request into Go structs: a member sent as `null` is a member left out
 * (Shopify's Ruby client sends `"enabled": null` on every create). `keep` names the one
 * member whose null means something here (a toxic's `for: null` takes its time box away).
 */
static void drop_nulls(json_t *o, const char *keep)
{
    const char *k;
    json_t *v;
    void *tmp;

    json_object_foreach_safe(o, tmp, k, v)
    {
        if (json_is_null(v) && (!keep || strcmp(k, keep) != 0))
            json_object_del(o, k);
    }
}

/* --- replies --- */

static struct reply error_reply(unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct reply error_reply(unsigned status, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Toxiproxy's error body */
    return (struct reply){status, json_pack("{s:s,s:i}", "error", msg, "status", (int)status)};
}

static struct reply error_detail(unsigned status, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An error whose `error` is Toxiproxy's very text (clients and tests compare it) and whose
 * `detail` is finwait's help: what exactly is wrong, and where. */
static struct reply error_detail(unsigned status, const char *error, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return (struct reply){
        status, json_pack("{s:s,s:i,s:s}", "error", error, "status", (int)status, "detail", msg)};
}

static const struct listener *listener_of(const struct server *srv, const char *name)
{
    for (const struct listener *l = srv->listeners; l; l = l->next)
        if (strcmp(l->p->name, name) == 0)
            return l;
    return NULL;
}

static json_t *addr_json(const char *host, uint16_t port)
{
    char buf[300];

    return json_string(hostport_text(host, port, buf, sizeof buf));
}

/* Toxiproxy's attributes of each toxic, in its units. */
static const struct {
    enum fault_type type;
    const char *name;
    size_t offset; /* of a uint64_t in struct fault */
} toxic_attrs[] = {
    {FAULT_LATENCY, "latency", offsetof(struct fault, latency_ms)},
    {FAULT_LATENCY, "jitter", offsetof(struct fault, jitter_ms)},
    {FAULT_BANDWIDTH, "rate", offsetof(struct fault, rate_kbps)},
    {FAULT_SLOW_CLOSE, "delay", offsetof(struct fault, delay_ms)},
    {FAULT_TIMEOUT, "timeout", offsetof(struct fault, timeout_ms)},
    {FAULT_RESET_PEER, "timeout", offsetof(struct fault, timeout_ms)},
    {FAULT_SLICER, "average_size", offsetof(struct fault, average_size)},
    {FAULT_SLICER, "size_variation", offsetof(struct fault, size_variation)},
    {FAULT_SLICER, "delay", offsetof(struct fault, delay_us)},
    {FAULT_LIMIT_DATA, "bytes", offsetof(struct fault, bytes)},
};

/* A toxic's own fields: never attributes (one would rename the toxic or change its type
 * behind the checks on those fields). */
static const char *const not_attributes[] = {"type",      "name",        "stream",
                                             "direction", "toxicity",    "probability",
                                             "match",     "connections", "for"};

static bool is_not_attribute(const char *k)
{
    for (size_t i = 0; i < sizeof not_attributes / sizeof not_attributes[0]; i++)
        if (strcmp(k, not_attributes[i]) == 0)
            return true;
    return false;
}

/* Toxiproxy's attributes of a toxic, with its defaults filled in as Toxiproxy shows them;
 * finwait's own faults show the parameters they were given. */
static json_t *toxic_attributes(const struct fault *f, json_t *given)
{
    json_t *a = json_object(), *v;
    const char *k;
    bool toxic = false;

    for (size_t i = 0; i < sizeof toxic_attrs / sizeof toxic_attrs[0]; i++) {
        if (toxic_attrs[i].type != f->type)
            continue;
        uint64_t v64 = *(const uint64_t *)((const char *)f + toxic_attrs[i].offset);
        json_object_set_new(a, toxic_attrs[i].name, json_integer((json_int_t)v64));
        toxic = true;
    }
    if (toxic)
        return a;
    json_object_foreach(given, k, v)
    {
        if (!is_not_attribute(k))
            json_object_set(a, k, v);
    }
    return a;
}

/* A toxic as Toxiproxy shows it; a time-boxed one also has `for` (milliseconds, as
 * Toxiproxy's times) and `for_left_ms`, the time left before it detaches itself. */
static json_t *toxic_json(const struct admin_api *a, const struct fault *f, json_t *given)
{
    /* Go writes a toxicity of 1 as `1` and 0.3 as `0.3` (respond_json's precision) */
    json_t *tox = f->probability == 0 || f->probability == 1
                      ? json_integer((json_int_t)f->probability)
                      : json_real(f->probability);
    json_t *t = json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", f->name, "type",
                          fault_type_name(f->type), "stream", fault_dir_name(f->direction),
                          "toxicity", tox, "attributes", toxic_attributes(f, given));
    uint64_t left;

    if (t && f->for_ms) {
        json_object_set_new(t, "for", json_integer((json_int_t)f->for_ms));
        if (expiry_left(a->srv->expiry, f, &left))
            json_object_set_new(t, "for_left_ms", json_integer((json_int_t)left));
    }
    return t;
}

static json_t *toxics_json(const struct admin_api *a, const struct proxy_cfg *p, json_t *doc_p)
{
    json_t *arr = json_array(), *faults = json_object_get(doc_p, "faults");

    for (size_t i = 0; i < p->nfaults; i++)
        json_array_append_new(arr, toxic_json(a, &p->faults[i], json_array_get(faults, i)));
    return arr;
}

/*
 * Toxiproxy shows a proxy's `listen` as it bound it (`localhost:0` -> `127.0.0.1:41799`)
 * from its first start on, disabled too. The document keeps the host as written (a reload
 * then keeps the socket), so the bound address is remembered beside it, good while the
 * document still says the same `listen`. NULL: none (never started, or moved since).
 */
static const char *bound_listen(const struct admin_api *a, const char *name, json_t *doc_p)
{
    json_t *b = json_object_get(a->bound, name);
    const char *as = str_member(doc_p, "listen"), *was = str_member(b, "as");

    return as && was && strcmp(as, was) == 0 ? str_member(b, "at") : NULL;
}

/* After every change of the document: note where each listening proxy is bound; keep what
 * was noted for the others while their `listen` is unchanged. */
static void remember_bound(struct admin_api *a)
{
    json_t *keep = json_object(), *p;
    size_t i;

    json_array_foreach(json_object_get(a->doc, "proxies"), i, p)
    {
        const char *name = str_member(p, "name"), *as = str_member(p, "listen");
        const struct listener *l = name ? listener_of(a->srv, name) : NULL;

        if (!name || !as)
            continue;
        if (l)
            json_object_set_new(keep, name, json_pack("{s:s,s:s}", "as", as, "at", l->addr_text));
        else if (bound_listen(a, name, p))
            json_object_set(keep, name, json_object_get(a->bound, name));
    }
    json_decref(a->bound);
    a->bound = keep;
}

/* A proxy as Toxiproxy shows it; `listen` is the bound address (the port given for :0). */
static json_t *proxy_json(const struct admin_api *a, const struct proxy_cfg *p)
{
    const struct listener *l = listener_of(a->srv, p->name);
    json_t *doc_p = admin_doc_proxy(a->doc, p->name, NULL), *listen;
    const char *was = bound_listen(a, p->name, doc_p);

    /* not listening: the address it bound last, or the one it will listen on, the port it
     * remembers included */
    if (l)
        listen = json_string(l->addr_text);
    else if (was)
        listen = json_string(was);
    else if (p->listen_port == 0 && json_is_string(json_object_get(doc_p, "listen")))
        listen = json_incref(json_object_get(doc_p, "listen"));
    else
        listen = addr_json(p->listen_host, p->listen_port);
    return json_pack("{s:s,s:o,s:o,s:b,s:o}", "name", p->name, "listen", listen, "upstream",
                     addr_json(p->upstream_host, p->upstream_port), "enabled", p->enabled, "toxics",
                     toxics_json(a, p, doc_p));
}

static const struct proxy_cfg *cfg_proxy(const struct admin_api *a, const char *name)
{
    const struct config *cfg = a->srv->gen->cfg;

    for (size_t i = 0; i < cfg->nproxies; i++)
        if (strcmp(cfg->proxies[i].name, name) == 0)
            return &cfg->proxies[i];
    return NULL;
}

/* The running proxy `name` as the answer to a change that made it. The document and the
 * running configuration agree on names, so it is there; if not, that is said, not crashed. */
static struct reply proxy_reply(const struct admin_api *a, unsigned status, const char *name)
{
    const struct proxy_cfg *pc = cfg_proxy(a, name);

    if (!pc)
        return error_reply(500, "proxy '%s' is not in the running configuration", name);
    return (struct reply){status, proxy_json(a, pc)};
}

/* --- applying a change --- */

/* `enabled: false` as the loader reads it (YAML 1.1 spellings included). */
static bool doc_enabled(json_t *p)
{
    static const char *const no[] = {"false", "no", "off", "False", "FALSE", "No", "Off"};
    json_t *e = p ? json_object_get(p, "enabled") : NULL;

    if (!p || json_is_false(e))
        return false;
    for (size_t i = 0; json_is_string(e) && i < sizeof no / sizeof no[0]; i++)
        if (strcmp(json_string_value(e), no[i]) == 0)
            return false;
    return true;
}

/* Toxiproxy ends a proxy's connections when it is disabled, deleted or restarted by a new
 * listen or upstream (a FIN to both peers after what was in flight): those of every proxy
 * enabled in `before` and gone, disabled or moved in `after`. */
static void cut_connections(struct admin_api *a, json_t *before, json_t *after)
{
    json_t *p;
    size_t i;

    json_array_foreach(json_object_get(before, "proxies"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        json_t *q = name ? admin_doc_proxy(after, name, NULL) : NULL;
        bool on = q && doc_enabled(q);
        /* a new upstream, or a new listen address (another socket: `127.0.0.1:0` sent back
         * as the port it got keeps the socket), restarts the proxy, as in Toxiproxy: its
         * connections were made to the old address or server */
        bool upstream_moved =
            on && !json_equal(json_object_get(p, "upstream"), json_object_get(q, "upstream"));
        const struct listener *now = on ? listener_of(a->srv, name) : NULL;

        if (!name || !doc_enabled(p))
            continue;
        for (struct conn *c = a->srv->conns; c; c = c->next) {
            if (strcmp(conn_proxy_name(c), name) != 0)
                continue;
            if (!q)
                conn_end(c, "proxy deleted through the admin API");
            else if (!on)
                conn_end(c, "proxy disabled through the admin API");
            else if (upstream_moved || c->l != now)
                conn_end(c, "proxy restarted: its listen or upstream changed");
        }
    }
}

/* An address that cannot be bound, as Toxiproxy answers it: a 500 with Go's text
 * (`listen tcp 127.0.0.1:3310: bind: address already in use`, the error's own words in
 * lower case as Go writes them), finwait's in `detail`. */
static struct reply listen_error(const struct listen_failure *lf, const char *why)
{
    char go[400];
    size_t n;

    n = (size_t)snprintf(go, sizeof go, "listen tcp %s: bind: %s", lf->addr, strerror(-lf->err));
    n = n < sizeof go ? n : sizeof go - 1;
    for (size_t i = n - strlen(strerror(-lf->err)); i < n; i++)
        go[i] = (char)tolower((unsigned char)go[i]);
    return error_detail(500, go, "%s; nothing changed", why);
}

/*
 * A proxy given port 0 keeps the port it got: the document says that port from now on, so a
 * disable and enable, a /reset, a populate with the values shown, or any later reload binds
 * it again, as Toxiproxy's proxies remember their address. The host stays as written: the
 * same socket is kept by the reload (rules/plan.c), nothing restarts.
 */
static void pin_ports(struct admin_api *a, json_t *doc)
{
    json_t *p;
    size_t i;

    json_array_foreach(json_object_get(doc, "proxies"), i, p)
    {
        const char *name = str_member(p, "name");
        const struct proxy_cfg *pc = name ? cfg_proxy(a, name) : NULL;
        const struct listener *l = name ? listener_of(a->srv, name) : NULL;
        char addr[300];

        if (!pc || !l || pc->listen_port != 0)
            continue;
        json_object_set_new(
            p, "listen", json_string(hostport_text(pc->listen_host, l->port, addr, sizeof addr)));
    }
}

/* The enabled proxy i of `next` (its name and parsed listen address), false if it has none. */
static bool doc_listen(json_t *next, size_t i, const char **name, char **host, uint16_t *port)
{
    json_t *p = json_array_get(json_object_get(next, "proxies"), i);
    const char *listen = str_member(p, "listen");

    *name = str_member(p, "name");
    *host = NULL;
    return listen && doc_enabled(p) &&
           value_parse_hostport(listen, VALUE_ADDR_ANY_HOST | VALUE_ADDR_ZERO_PORT, host, port) ==
               0;
}

/*
 * Two enabled proxies of `next` on one address: the request gave a proxy an address another
 * one listens on (the running document has no such pair). Toxiproxy's bind fails there, and
 * its answer is what clients compare: a 500 `listen tcp 127.0.0.1:3310: bind: address already
 * in use` (Go writes `localhost` resolved). Returns true with `fail` filled in.
 */
static bool listen_collision(json_t *next, struct reply *fail)
{
    size_t n = json_array_size(json_object_get(next, "proxies"));
    bool hit = false;

    for (size_t j = 1; j < n && !hit; j++) {
        const char *name_j, *name_i;
        char *host_j, *host_i, addr[300];
        uint16_t port_j, port_i;

        if (!doc_listen(next, j, &name_j, &host_j, &port_j) || port_j == 0) {
            free(host_j);
            continue;
        }
        for (size_t i = 0; i < j && !hit; i++) {
            if (doc_listen(next, i, &name_i, &host_i, &port_i) && port_i == port_j &&
                (strcmp(host_i, host_j) == 0 || !host_i[0] || !host_j[0])) {
                hostport_text(strcmp(host_j, "localhost") == 0 ? "127.0.0.1" : host_j, port_j, addr,
                              sizeof addr);
                struct listen_failure lf = {.err = UV_EADDRINUSE};
                snprintf(lf.addr, sizeof lf.addr, "%s", addr);
                char why[600];
                snprintf(why, sizeof why,
                         "proxy '%s' cannot listen on %s: proxy '%s' listens there",
                         name_j ? name_j : "?", addr, name_i ? name_i : "?");
                *fail = listen_error(&lf, why);
                hit = true;
            }
            free(host_i);
        }
        free(host_j);
    }
    return hit;
}

/* Load `next` as a configuration and make it the running one. On failure `next` is dropped
 * and the reply says what is wrong with the request; on success the API's document is
 * `next`. */
static bool apply(struct admin_api *a, json_t *next, const char *what, struct reply *fail)
{
    char *text = json_dumps(next, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    struct config *cfg = NULL;
    struct diag d;
    char msg[2048] = "";
    struct listen_failure lf;
    size_t len = 0;
    bool ok;

    if (listen_collision(next, fail)) {
        free(text);
        json_decref(next);
        return false;
    }
    diag_init(&d);
    if (!text || config_load_string_ex("admin API", text, strlen(text), a->srv->ov,
                                       CONFIG_TOXIPROXY_VALUES, &cfg, &d) != 0) {
        /* positions are in a document the client never saw: say what and where instead */
        for (size_t i = 0; i < d.n && len < sizeof msg - 200; i++) {
            const char *src = d.msgs[i].src_line ? d.msgs[i].src_line : "";
            while (*src == ' ')
                src++;
            if (!strchr(src, ':'))
                src = ""; /* a bracket says nothing; a `"key": value` line does */
            int n = snprintf(msg + len, sizeof msg - len, "%s%s%s%s%s", i ? "; " : "",
                             d.msgs[i].text, *src ? " (at " : "", src, *src ? ")" : "");
            len = n < 0 ? len : len + (size_t)n < sizeof msg ? len + (size_t)n : sizeof msg - 1;
        }
        *fail = error_reply(400, "%s", msg[0] ? msg : "out of memory");
        diag_free(&d);
        free(text);
        json_decref(next);
        return false;
    }
    diag_free(&d);
    free(text);
    ok = server__reload(a->srv, cfg, RELOAD_ASKED, msg, sizeof msg, &lf) == 0;
    stats_reload(RELOAD_API, ok);
    if (!ok) {
        /* the request was valid; what it asks for cannot be had (an address in use) */
        if (lf.err)
            *fail = listen_error(&lf, msg);
        else
            *fail = error_reply(409, "%s; nothing changed", msg);
        json_decref(next);
        return false;
    }
    pin_ports(a, next);
    LOG(LOG_LEVEL_INFO, NULL, "api", "admin API: %s", what);
    cut_connections(a, a->doc, next);
    json_decref(a->doc);
    a->doc = next;
    remember_bound(a);
    return true;
}

/* A proxy's or toxic's name must come back in a URL path: MHD hands us the path
 * percent-decoded, so a '/' in a name could never be addressed, nor "." and ".." which
 * clients resolve away. Returns NULL, or `fail` filled in. */
/* Toxiproxy's Go client sends `"name": ""` for a toxic it did not name: no name. */
static bool empty_string(json_t *v)
{
    return json_is_string(v) && json_string_value(v)[0] == '\0';
}

static struct reply *bad_name(json_t *v, const char *what, struct reply *fail)
{
    const char *s = json_string_value(v);

    if (!v || (json_is_string(v) && !*s)) {
        *fail = error_reply(400, "missing required field: name");
        return fail;
    }
    if (!json_is_string(v)) {
        *fail = error_reply(400, "a %s's name must be a string", what);
        return fail;
    }
    if (strlen(s) > NAME_MAX_LEN) {
        *fail = error_reply(400, "a %s's name is at most %d bytes", what, NAME_MAX_LEN);
        return fail;
    }
    for (const char *c = s; *c; c++) {
        if (*c == '/' || (unsigned char)*c < 0x20 || *c == 0x7f) {
            *fail = error_reply(400,
                                "%s name '%s' cannot be used in a URL path (no '/' or control "
                                "characters)",
                                what, s);
            return fail;
        }
    }
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
        *fail = error_reply(400, "%s name '%s' cannot be used in a URL path", what, s);
        return fail;
    }
    return NULL;
}

/* A JSON value's kind as Go's decoder names it in its errors. */
static const char *go_kind(json_t *v)
{
    return json_is_object(v)    ? "object"
           : json_is_array(v)   ? "array"
           : json_is_string(v)  ? "string"
           : json_is_number(v)  ? "number"
           : json_is_boolean(v) ? "bool"
                                : "null";
}

/* A member of the wrong JSON type, in the words of Toxiproxy's decoder. */
static struct reply *wrong_type(json_t *v, const char *field, const char *go_type, const char *want,
                                struct reply *fail)
{
    char go[300];

    snprintf(go, sizeof go,
             "bad request body: json: cannot unmarshal %s into Go struct field Proxy.%s of type "
             "%s",
             go_kind(v), field, go_type);
    *fail = error_detail(400, go, "%s must be %s", field, want);
    return fail;
}

/* Copy a Toxiproxy proxy's fields (and finwait's on_upstream_failure) into a document proxy. */
static struct reply *proxy_fields(json_t *in, json_t *p, struct reply *fail)
{
    const char *k;
    json_t *v;

    json_object_foreach(in, k, v)
    {
        if (strcmp(k, "toxics") == 0)
            continue; /* Toxiproxy ignores them here too */
        if (strcmp(k, "name") == 0 && bad_name(v, "proxy", fail))
            return fail;
        if ((strcmp(k, "listen") == 0 || strcmp(k, "upstream") == 0) && !json_is_string(v))
            return wrong_type(v, k, "string", "a string like \"127.0.0.1:8080\"", fail);
        if (strcmp(k, "enabled") == 0 && !json_is_boolean(v))
            return wrong_type(v, k, "bool", "true or false", fail);
        if (strcmp(k, "on_upstream_failure") == 0 && !json_is_string(v)) {
            *fail = error_reply(400, "on_upstream_failure must be \"reset\" or \"close\"");
            return fail;
        }
        if (strcmp(k, "name") != 0 && strcmp(k, "listen") != 0 && strcmp(k, "upstream") != 0 &&
            strcmp(k, "enabled") != 0 && strcmp(k, "on_upstream_failure") != 0) {
            *fail = error_reply(400,
                                "unknown field '%s' (expected name, listen, upstream, enabled, "
                                "on_upstream_failure)",
                                k);
            return fail;
        }
        json_object_set(p, k, v);
    }
    return NULL;
}

/* A change without a body: Go's decoder meets the end at once, and Toxiproxy says so. */
static struct reply no_body(void)
{
    return error_reply(400, "bad request body: EOF");
}

/* A request that failed before its change was applied: the edited copy goes. */
static struct reply drop(json_t *next, struct reply r)
{
    json_decref(next);
    return r;
}

/* Toxiproxy's "missing required field: FIELD", with " at proxy N" (1-based) in a populate. */
static struct reply *missing(const char *field, size_t nth, struct reply *fail)
{
    if (nth)
        *fail = error_reply(400, "missing required field: %s at proxy %zu", field, nth);
    else
        *fail = error_reply(400, "missing required field: %s", field);
    return fail;
}

/*
 * Where a proxy created without `listen` listens: an ephemeral port on the admin API's own
 * host (Toxiproxy takes every interface). What can reach the API can reach the proxy, and a
 * finwait whose API is on loopback opens nothing beyond it by itself.
 */
static const char *default_listen(const struct admin_api *a, char *buf, size_t len)
{
    const char *host = a->srv->gen->cfg->admin_host;

    return hostport_text(host ? host : "127.0.0.1", 0, buf, len);
}

/* True if the populate entry `in` names the address and upstream proxy p has now (its
 * `listen` as written or as bound, now or last): Toxiproxy then leaves the proxy as it is. */
static bool same_proxy(const struct admin_api *a, json_t *p, json_t *in)
{
    const char *name = str_member(p, "name"), *listen = str_member(in, "listen");
    const struct listener *l = name ? listener_of(a->srv, name) : NULL;
    const char *up = str_member(in, "upstream"), *doc_up = str_member(p, "upstream"), *was;

    if (!listen || !up || !doc_up || strcmp(up, doc_up) != 0)
        return false;
    was = name ? bound_listen(a, name, p) : NULL;
    return (str_member(p, "listen") && strcmp(listen, str_member(p, "listen")) == 0) ||
           (l && strcmp(listen, l->addr_text) == 0) || (was && strcmp(listen, was) == 0);
}

/*
 * Put the Toxiproxy proxy `in` into the document `next`: a new proxy, or in a populate (`nth`,
 * the entry's 1-based place; 0: a create) the one of that name replaced as Toxiproxy does:
 * kept as it is (toxics, enabled) when its listen and upstream are those given, else made
 * anew. Returns NULL, or `fail` filled in.
 */
static struct reply *put_proxy(struct admin_api *a, json_t *next, json_t *in, size_t nth,
                               struct reply *fail)
{
    json_t *p, *up;
    char listen[300];
    size_t at;

    if (!json_is_object(in)) {
        *fail = in ? error_reply(400, "expected a proxy object") : no_body();
        return fail;
    }
    drop_nulls(in, NULL);
    if (empty_string(json_object_get(in, "name")) || !json_object_get(in, "name"))
        return missing("name", nth, fail);
    if (bad_name(json_object_get(in, "name"), "proxy", fail))
        return fail;
    up = json_object_get(in, "upstream");
    if (!up || empty_string(up))
        return missing("upstream", nth, fail);
    p = admin_doc_proxy(next, str_member(in, "name"), &at);
    if (p && !nth) {
        *fail = error_reply(409, "proxy already exists");
        return fail;
    }
    if (p && same_proxy(a, p, in))
        return NULL;
    if (p)
        json_array_remove(json_object_get(next, "proxies"), at);
    p = json_pack("{s:b,s:s,s:s}", "enabled", 1, "listen", default_listen(a, listen, sizeof listen),
                  "on_upstream_failure", "close");
    json_array_append_new(json_object_get(next, "proxies"), p);
    return proxy_fields(in, p, fail);
}

static struct reply create_proxy(struct admin_api *a, json_t *in)
{
    json_t *next = json_deep_copy(a->doc);
    struct reply fail;
    char what[300];

    if (put_proxy(a, next, in, 0, &fail))
        return drop(next, fail);
    snprintf(what, sizeof what, "created proxy '%s'", str_member(in, "name"));
    if (!apply(a, next, what, &fail))
        return fail;
    return proxy_reply(a, 201, str_member(in, "name"));
}

static struct reply update_proxy(struct admin_api *a, const char *name, json_t *in)
{
    json_t *next = json_deep_copy(a->doc), *p = admin_doc_proxy(next, name, NULL), *n;
    struct reply fail;
    char what[300];

    if (!p)
        return drop(next, error_reply(404, "proxy not found"));
    if (!json_is_object(in))
        return drop(next, in ? error_reply(400, "expected a proxy object") : no_body());
    drop_nulls(in, NULL);
    n = json_object_get(in, "name");
    if (n && (!json_is_string(n) || strcmp(json_string_value(n), name) != 0))
        return drop(next,
                    error_reply(400, "a proxy cannot be renamed: delete it and create it again"));
    if (proxy_fields(in, p, &fail))
        return drop(next, fail);
    snprintf(what, sizeof what, "updated proxy '%s'", name);
    if (!apply(a, next, what, &fail))
        return fail;
    return proxy_reply(a, 200, name);
}

static struct reply delete_proxy(struct admin_api *a, const char *name)
{
    json_t *next = json_deep_copy(a->doc);
    struct reply fail;
    char what[300];
    size_t i;

    if (!admin_doc_proxy(next, name, &i))
        return drop(next, error_reply(404, "proxy not found"));
    json_array_remove(json_object_get(next, "proxies"), i);
    snprintf(what, sizeof what, "deleted proxy '%s'", name);
    if (!apply(a, next, what, &fail))
        return fail;
    return (struct reply){204, NULL};
}

/* finwait's `for` on a toxic: milliseconds (a JSON integer, as Toxiproxy's times) or a
 * duration text ("30s"), checked by the loader as in a file; null takes the time box away. */
static struct reply *set_for(json_t *f, json_t *v, struct reply *fail)
{
    if (json_is_null(v)) {
        json_object_del(f, "for");
        return NULL;
    }
    if (!json_is_integer(v) && !json_is_string(v)) {
        *fail = error_reply(400, "for must be milliseconds (an integer) or a duration like "
                                 "\"30s\"");
        return fail;
    }
    json_object_set(f, "for", v);
    return NULL;
}

/* A toxic's members and attributes sent as null are left out, but for finwait's `for`. */
static void toxic_drop_nulls(json_t *in)
{
    drop_nulls(in, "for");
    if (json_is_object(json_object_get(in, "attributes")))
        drop_nulls(json_object_get(in, "attributes"), "for");
}

/* Toxiproxy's answer to a toxic type it does not have; `why` (the loader's message, which
 * lists the types and suggests one) or the list goes in `detail`. */
static struct reply *invalid_type(const char *why, struct reply *fail)
{
    char list[600] = "";
    size_t len = 0;

    for (int t = 0; t < FAULT_TYPE_COUNT && len < sizeof list; t++) {
        int n = snprintf(list + len, sizeof list - len, "%s%s", t ? ", " : "",
                         fault_type_name((enum fault_type)t));
        len += n > 0 ? (size_t)n : 0;
    }
    if (why)
        *fail = error_detail(400, "invalid toxic type", "%s", why);
    else
        *fail = error_detail(400, "invalid toxic type", "missing type (expected %s)", list);
    return fail;
}

/* A Toxiproxy toxic ({name, type, stream, toxicity, attributes}) into a document fault. */
static struct reply *toxic_fields(json_t *in, json_t *f, bool create, struct reply *fail)
{
    const char *type = str_member(in, "type"), *k;
    enum fault_type t;
    bool toxic;
    json_t *v;

    if (create && !type)
        return invalid_type(NULL, fail);
    if (!type)
        type = str_member(f, "type");
    toxic = !type || !fault_type_lookup(type, &t) || fault_type_is_toxic(t);
    json_object_foreach(in, k, v)
    {
        if (strcmp(k, "name") == 0) {
            if (empty_string(v))
                continue; /* the default name, TYPE_STREAM */
            if (bad_name(v, "toxic", fail))
                return fail;
            json_object_set(f, k, v);
        } else if (strcmp(k, "type") == 0) {
            if (!json_is_string(v)) {
                *fail = error_reply(400, "type must be a string");
                return fail;
            }
            json_object_set(f, k, v);
        } else if (strcmp(k, "stream") == 0) {
            /* Toxiproxy's streams, in any case; finwait's own faults may also say "both" */
            const char *sv = json_string_value(v);
            if (!sv || (strcasecmp(sv, "upstream") != 0 && strcasecmp(sv, "downstream") != 0 &&
                        (toxic || strcmp(sv, "both") != 0))) {
                *fail = error_reply(400, "stream was invalid, can be either upstream or "
                                         "downstream");
                return fail;
            }
            /* Toxiproxy's clients always send one; a fault that acts on the whole
             * connection (refuse, drop_fin, ...) has no direction to take it */
            if (toxic || fault_type_has_param(t, "direction"))
                json_object_set_new(f, toxic ? "stream" : "direction",
                                    json_string(strcasecmp(sv, "upstream") == 0     ? "upstream"
                                                : strcasecmp(sv, "downstream") == 0 ? "downstream"
                                                                                    : "both"));
        } else if (strcmp(k, "toxicity") == 0) {
            /* Toxiproxy takes a toxicity above 1 as 1 */
            json_object_set_new(f, toxic ? "toxicity" : "probability",
                                json_is_number(v) && json_number_value(v) > 1 ? json_real(1.0)
                                                                              : json_incref(v));
        } else if (strcmp(k, "connections") == 0) {
            json_object_set(f, k, v); /* finwait's: "new" keeps it off open connections */
        } else if (strcmp(k, "for") == 0) {
            if (set_for(f, v, fail))
                return fail;
        } else if (strcmp(k, "attributes") == 0 && json_is_object(v)) {
            const char *ak;
            json_t *av;
            if (json_object_size(v) > ATTRIBUTES_MAX) {
                *fail = error_reply(400, "too many attributes (%zu): at most %d",
                                    json_object_size(v), ATTRIBUTES_MAX);
                return fail;
            }
            json_object_foreach(v, ak, av)
            {
                if (strcmp(ak, "for") == 0) {
                    /* Toxiproxy's clients send only attributes: `for` is taken there too */
                    if (set_for(f, av, fail))
                        return fail;
                    continue;
                }
                if (is_not_attribute(ak)) {
                    *fail = error_reply(400,
                                        "'%s' is not an attribute (a toxic's name, type, stream "
                                        "and toxicity are fields of their own)",
                                        ak);
                    return fail;
                }
                json_object_set(f, ak, av);
            }
        } else if (strcmp(k, "attributes") != 0 || !json_is_null(v)) {
            *fail = error_reply(400,
                                "unknown field '%s' (expected name, type, stream, toxicity, "
                                "connections, for, attributes)",
                                k);
            return fail;
        }
    }
    return NULL;
}

static struct reply create_toxic(struct admin_api *a, const char *proxy, json_t *in)
{
    json_t *next = json_deep_copy(a->doc), *p = admin_doc_proxy(next, proxy, NULL), *faults, *f;
    const struct proxy_cfg *pc;
    struct reply fail;
    char what[600], name[NAME_MAX_LEN + 64];
    const char *stream;
    enum fault_type t;
    bool known;

    if (!p)
        return drop(next, error_reply(404, "proxy not found"));
    if (!json_is_object(in))
        return drop(next, in ? error_reply(400, "expected a toxic object") : no_body());
    toxic_drop_nulls(in);
    if (json_object_get(in, "name") && !empty_string(json_object_get(in, "name")) &&
        bad_name(json_object_get(in, "name"), "toxic", &fail))
        return drop(next, fail);
    /* Toxiproxy names a toxic TYPE_STREAM when the client does not (its Go client sends
     * `"name": ""` then). The name goes first so the loader's messages about the other fields
     * can use it. */
    stream = str_member(in, "stream") ? str_member(in, "stream") : "downstream";
    if (strcasecmp(stream, "upstream") == 0 || strcasecmp(stream, "downstream") == 0)
        stream = tolower((unsigned char)stream[0]) == 'u' ? "upstream" : "downstream";
    if (str_member(in, "name") && *str_member(in, "name"))
        snprintf(name, sizeof name, "%s", str_member(in, "name"));
    else
        snprintf(name, sizeof name, "%.*s_%.*s", NAME_MAX_LEN / 2,
                 str_member(in, "type") ? str_member(in, "type") : "", NAME_MAX_LEN / 2, stream);
    f = json_pack("{s:s}", "name", name);
    if (toxic_fields(in, f, true, &fail)) {
        json_decref(f);
        return drop(next, fail);
    }
    if (admin_doc_fault(p, name, NULL)) {
        json_decref(f);
        return drop(next, error_reply(409, "toxic already exists"));
    }
    faults = json_object_get(p, "faults");
    if (!json_is_array(faults)) {
        faults = json_array();
        json_object_set_new(p, "faults", faults);
    }
    json_array_append_new(faults, f);
    snprintf(what, sizeof what, "added toxic '%s' to proxy '%s'", name, proxy);
    known = fault_type_lookup(str_member(in, "type"), &t);
    if (!apply(a, next, what, &fail)) {
        if (!known && fail.status == 400) {
            struct reply r;
            invalid_type(json_string_value(json_object_get(fail.json, "error")), &r);
            json_decref(fail.json);
            return r;
        }
        return fail;
    }
    pc = cfg_proxy(a, proxy);
    if (!pc || pc->nfaults == 0)
        return error_reply(500, "proxy '%s' is not in the running configuration", proxy);
    return (struct reply){
        200, toxic_json(a, &pc->faults[pc->nfaults - 1],
                        json_array_get(json_object_get(p, "faults"), pc->nfaults - 1))};
}

static struct reply update_toxic(struct admin_api *a, const char *proxy, const char *toxic,
                                 json_t *in)
{
    json_t *next = json_deep_copy(a->doc), *p = admin_doc_proxy(next, proxy, NULL), *f, *n;
    const struct proxy_cfg *pc;
    struct reply fail;
    char what[600];
    size_t i;

    f = p ? admin_doc_fault(p, toxic, &i) : NULL;
    if (!f)
        return drop(next, error_reply(404, p ? "toxic not found" : "proxy not found"));
    if (!json_is_object(in))
        return drop(next, in ? error_reply(400, "expected a toxic object") : no_body());
    toxic_drop_nulls(in);
    n = json_object_get(in, "name");
    if (n && json_is_string(n) && !*json_string_value(n))
        n = NULL; /* empty, as Toxiproxy's Go client sends: the toxic keeps its name */
    if (n && (!json_is_string(n) || strcmp(json_string_value(n), toxic) != 0))
        return drop(next,
                    error_reply(400, "a toxic cannot be renamed: delete it and add it again"));
    n = json_object_get(in, "type");
    if (n && (!json_is_string(n) || !str_member(f, "type") ||
              strcmp(json_string_value(n), str_member(f, "type")) != 0))
        return drop(next,
                    error_reply(400, "a toxic's type cannot change: delete it and add it again"));
    if (toxic_fields(in, f, false, &fail))
        return drop(next, fail);
    snprintf(what, sizeof what, "updated toxic '%s' of proxy '%s'", toxic, proxy);
    if (!apply(a, next, what, &fail))
        return fail;
    pc = cfg_proxy(a, proxy);
    if (!pc || i >= pc->nfaults)
        return error_reply(500, "proxy '%s' is not in the running configuration", proxy);
    return (struct reply){
        200, toxic_json(a, &pc->faults[i],
                        json_array_get(
                            json_object_get(admin_doc_proxy(a->doc, proxy, NULL), "faults"), i))};
}

static struct reply delete_toxic(struct admin_api *a, const char *proxy, const char *toxic)
{
    json_t *next = json_deep_copy(a->doc), *p = admin_doc_proxy(next, proxy, NULL);
    struct reply fail;
    char what[600];
    size_t i;

    if (!p || !admin_doc_fault(p, toxic, &i))
        return drop(next, error_reply(404, p ? "toxic not found" : "proxy not found"));
    json_array_remove(json_object_get(p, "faults"), i);
    snprintf(what, sizeof what, "removed toxic '%s' from proxy '%s'", toxic, proxy);
    if (!apply(a, next, what, &fail))
        return fail;
    return (struct reply){204, NULL};
}

/* POST /reset: every proxy enabled, every toxic gone. */
static struct reply reset_all(struct admin_api *a)
{
    json_t *next = json_deep_copy(a->doc), *p;
    struct reply fail;
    size_t i;

    json_array_foreach(json_object_get(next, "proxies"), i, p)
    {
        json_object_set_new(p, "enabled", json_true());
        json_object_set_new(p, "faults", json_array());
    }
    if (!apply(a, next, "reset: every proxy enabled, every toxic removed", &fail))
        return fail;
    return (struct reply){204, NULL};
}

/* POST /populate: create or update every proxy of the list, all or none. */
static struct reply populate(struct admin_api *a, json_t *in)
{
    json_t *list = json_is_object(in) ? json_object_get(in, "proxies") : in, *item, *next, *out;
    struct reply fail;
    char what[100];
    size_t i;

    if (!json_is_array(list))
        return in ? error_reply(400, "expected an array of proxies") : no_body();
    if (json_array_size(list) > POPULATE_MAX)
        return error_reply(400, "too many proxies (%zu): at most %d per request",
                           json_array_size(list), POPULATE_MAX);
    next = json_deep_copy(a->doc);
    json_array_foreach(list, i, item)
    {
        if (put_proxy(a, next, item, i + 1, &fail)) {
            /* Toxiproxy's populate error also lists the proxies it made before the bad
             * entry: none here, all or nothing */
            json_object_set_new(fail.json, "proxies", json_null());
            return drop(next, fail);
        }
    }
    snprintf(what, sizeof what, "populated %zu prox%s", json_array_size(list),
             json_array_size(list) == 1 ? "y" : "ies");
    if (!apply(a, next, what, &fail))
        return fail;
    out = json_array();
    json_array_foreach(list, i, item)
    {
        const struct proxy_cfg *pc = cfg_proxy(a, str_member(item, "name"));
        if (pc)
            json_array_append_new(out, proxy_json(a, pc));
    }
    return (struct reply){201, json_pack("{s:o}", "proxies", out)};
}

/* --- routing --- */

static struct reply get_toxic(struct admin_api *a, const char *proxy, const char *toxic)
{
    const struct proxy_cfg *pc = cfg_proxy(a, proxy);
    json_t *faults = json_object_get(admin_doc_proxy(a->doc, proxy, NULL), "faults");

    if (!pc)
        return error_reply(404, "proxy not found");
    for (size_t i = 0; i < pc->nfaults; i++)
        if (strcmp(pc->faults[i].name, toxic) == 0)
            return (struct reply){200, toxic_json(a, &pc->faults[i], json_array_get(faults, i))};
    return error_reply(404, "toxic not found");
}

static struct reply all_proxies(struct admin_api *a)
{
    json_t *all = json_object();

    for (size_t i = 0; i < a->srv->gen->cfg->nproxies; i++)
        json_object_set_new(all, a->srv->gen->cfg->proxies[i].name,
                            proxy_json(a, &a->srv->gen->cfg->proxies[i]));
    return (struct reply){200, all};
}

/* The path's segments: /proxies/NAME/toxics/TOXIC has 4. Returns how many, or -1 for a
 * path that is none of the API's. */
static int split_path(const char *url, char *buf, size_t len, char *seg[4])
{
    int n = 0;
    char *save = NULL;

    if (strlen(url) >= len || url[0] != '/')
        return -1;
    strcpy(buf, url);
    for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (n == 4)
            return -1;
        seg[n++] = t;
    }
    return n;
}

/* A known route asked with another method: Toxiproxy's router answers 405 with no body. */
static struct reply not_allowed(void)
{
    return (struct reply){405, NULL};
}

/* A path that is no route: the router's own answer, which respond() writes as text. */
static struct reply not_found(void)
{
    return (struct reply){404, NULL};
}

static struct reply route(struct admin_api *a, const char *method, const char *url, json_t *in)
{
    bool get = strcmp(method, "GET") == 0, del = strcmp(method, "DELETE") == 0;
    bool post = strcmp(method, "POST") == 0, patch = strcmp(method, "PATCH") == 0;
    char buf[1024], *seg[4];
    int n = split_path(url, buf, sizeof buf, seg);

    /* Toxiproxy's API level, which clients read to choose their paths (the Ruby client
     * updates with PATCH from 2.6 on); finwait's own version beside it */
    if (n == 1 && strcmp(seg[0], "version") == 0 && get)
        return (struct reply){200, json_pack("{s:s,s:s}", "version", TOXIPROXY_API_VERSION,
                                             "finwait", FINWAIT_VERSION)};
    if (n == 1 && strcmp(seg[0], "version") == 0)
        return not_allowed();
    if (n == 1 && strcmp(seg[0], "reset") == 0)
        return post ? reset_all(a) : not_allowed();
    if (n == 1 && strcmp(seg[0], "populate") == 0)
        return post ? populate(a, in) : not_allowed();
    if (n == 1 && strcmp(seg[0], "metrics") == 0 && !get)
        return not_allowed();
    if (n >= 1 && strcmp(seg[0], "proxies") == 0 && (n != 3 || strcmp(seg[2], "toxics") == 0)) {
        if (n == 1 && get)
            return all_proxies(a);
        if (n == 1 && post)
            return create_proxy(a, in);
        if (n == 2 && get) {
            const struct proxy_cfg *pc = cfg_proxy(a, seg[1]);
            return pc ? (struct reply){200, proxy_json(a, pc)}
                      : error_reply(404, "proxy not found");
        }
        if (n == 2 && (post || patch))
            return update_proxy(a, seg[1], in);
        if (n == 2 && del)
            return delete_proxy(a, seg[1]);
        if (n == 3 && get) {
            const struct proxy_cfg *pc = cfg_proxy(a, seg[1]);
            return pc ? (struct reply){200,
                                       toxics_json(a, pc, admin_doc_proxy(a->doc, seg[1], NULL))}
                      : error_reply(404, "proxy not found");
        }
        if (n == 3 && post)
            return create_toxic(a, seg[1], in);
        if (n == 4 && strcmp(seg[2], "toxics") == 0) {
            if (get)
                return get_toxic(a, seg[1], seg[3]);
            if (post || patch)
                return update_toxic(a, seg[1], seg[3], in);
            if (del)
                return delete_toxic(a, seg[1], seg[3]);
        }
        if (n != 4 || strcmp(seg[2], "toxics") == 0)
            return not_allowed();
    }
    return not_found();
}

/* --- the entry point --- */

static void respond_json(struct admin_response *out, struct reply r)
{
    out->status = r.status;
    out->content_type = NULL;
    out->body = NULL;
    out->body_len = 0;
    if (!r.json)
        return;
    /* 15 digits: a toxicity of 0.3 reads 0.3, as Toxiproxy (Go) writes it */
    out->body = json_dumps(r.json, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(r.json);
    if (!out->body) {
        out->status = 500;
        out->body = strdup("{\"error\":\"out of memory\",\"status\":500}");
    }
    out->content_type = "application/json";
    out->body_len = out->body ? strlen(out->body) : 0;
}

/*
 * GET /events[?proxy=NAME][&level=LEVEL]: a subscriber for the HTTP layer to stream. Each
 * stream holds an admin connection for as long as it lives: one is always left for requests.
 */
static struct reply events_open(struct admin_api *a, const struct admin_request *rq,
                                struct admin_response *out)
{
    const struct config *cfg = a->srv->gen->cfg;
    const char *proxy = admin_request_arg(rq, "proxy"), *lv = admin_request_arg(rq, "level");
    enum log_level level = LOG_LEVEL_INFO;

    if (strcmp(rq->method, "GET") != 0)
        return error_reply(405, "method %s not allowed on /events", rq->method);
    if (lv && !log_level_lookup(lv, &level))
        return error_reply(400, "level '%.100s': expected error, warn, info or debug", lv);
    if (proxy && !cfg_proxy(a, proxy))
        return error_reply(404, "proxy not found");
    if (events_subscribers() + 1 >= cfg->admin_max_connections)
        return error_reply(503,
                           "too many event streams: %u open, admin.max_connections is %u and "
                           "one connection stays free for requests",
                           events_subscribers(), cfg->admin_max_connections);
    if (events_subscribe(&out->stream, level, proxy) != 0)
        return error_reply(500, "out of memory");
    *out = (struct admin_response){200, "application/x-ndjson", NULL, 0, out->stream};
    return (struct reply){0, NULL};
}

static struct reply check_caller(const struct config *cfg, const struct admin_request *rq)
{
    /* `insecure` says anyone who reaches the port may drive finwait: then a container's name
     * (`http://finwait:8474` in a compose file) is as good as an address, as in Toxiproxy;
     * the browser's User-Agent is still refused */
    if (rq->host && !cfg->admin_insecure && !admin_host_allowed(cfg, rq->host))
        return error_reply(403,
                           "Host '%.200s' not allowed: use an IP address or localhost, or list "
                           "the name in admin.hosts",
                           rq->host);
    if (cfg->admin_token && !admin_token_ok(cfg->admin_token, rq->authorization))
        return error_reply(401, "missing or wrong token (Authorization: Bearer TOKEN)");
    return (struct reply){0, NULL};
}

/* GET /metrics: Prometheus' text format, not JSON. */
static void metrics_answer(struct server *srv, struct admin_response *out)
{
    *out = (struct admin_response){
        .status = 200, .content_type = METRICS_CONTENT_TYPE, .body = NULL, .body_len = 0};
    if (metrics_render(srv, &out->body, &out->body_len) < 0) {
        *out = (struct admin_response){.status = 500,
                                       .content_type = "text/plain",
                                       .body = strdup("out of memory\n"),
                                       .body_len = 0};
        out->body_len = out->body ? strlen(out->body) : 0;
    }
}

static void router_not_found(struct admin_response *out);

void admin_api_handle(struct admin_api *a, const struct admin_request *rq,
                      struct admin_response *out)
{
    static const char ua_refused[] = "User agent not allowed\n";
    json_t *in = NULL;
    json_error_t jerr;
    struct reply r;

    out->stream = NULL; /* every answer but /events' is a body */
    /* Toxiproxy's answer to a browser: a web page must never drive the API */
    if (rq->user_agent && strncmp(rq->user_agent, "Mozilla/", 8) == 0) {
        *out = (struct admin_response){403, "text/plain", strdup(ua_refused), sizeof ua_refused - 1,
                                       NULL};
        if (!out->body)
            out->body_len = 0;
        return;
    }
    r = check_caller(a->srv->gen->cfg, rq);
    if (r.status == 0 && strcmp(rq->method, "GET") == 0 && strcmp(rq->path, "/metrics") == 0) {
        metrics_answer(a->srv, out);
        return;
    }
    if (r.status == 0 && rq->body_len > ADMIN_BODY_MAX)
        r = error_reply(413, "request body over %d bytes", ADMIN_BODY_MAX);
    if (r.status == 0 && rq->body_len) {
        in = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!in)
            r = error_reply(400, "bad request body: %s (line %d, column %d)", jerr.text, jerr.line,
                            jerr.column);
    }
    /* the connection routes answer themselves: a diagram is text, not JSON */
    if (r.status == 0 && admin_conns_handle(a->srv, rq, out)) {
        json_decref(in);
        if (out->status >= 400)
            LOG(LOG_LEVEL_WARN, NULL, "api", "admin API: %s %.200s: %u", rq->method, rq->path,
                out->status);
        return;
    }
    if (r.status == 0 && admin_findings_handle(a->srv, rq, out)) {
        json_decref(in);
        return;
    }
    if (r.status == 0 && strcmp(rq->path, "/events") == 0) {
        r = events_open(a, rq, out);
        if (r.status == 0) {
            json_decref(in);
            return;
        }
    }
    if (r.status == 0) {
        admin_doc_prune(a->doc, a->srv->gen->cfg);
        r = route(a, rq->method, rq->path, in);
    }
    json_decref(in);
    if (r.status >= 400 && r.json)
        LOG(LOG_LEVEL_WARN, NULL, "api", "admin API: %s %.200s: %u %s", rq->method, rq->path,
            r.status, json_string_value(json_object_get(r.json, "error")));
    else if (r.status >= 400)
        LOG(LOG_LEVEL_WARN, NULL, "api", "admin API: %s %.200s: %u", rq->method, rq->path,
            r.status);
    respond_json(out, r);
    if (r.status == 404 && !out->body)
        router_not_found(out);
    else if (r.status == 200 && strcmp(rq->path, "/version") == 0)
        out->content_type = "application/json;charset=utf-8"; /* Toxiproxy's, to the byte */
}

/* Toxiproxy's router, for a path it has no route for: not JSON. */
static void router_not_found(struct admin_response *out)
{
    static const char text[] = "404 page not found\n";

    out->content_type = "text/plain; charset=utf-8";
    out->body = strdup(text);
    out->body_len = out->body ? sizeof text - 1 : 0;
}

void admin_response_free(struct admin_response *r)
{
    free(r->body);
    r->body = NULL;
    events_unsubscribe(r->stream);
    r->stream = NULL;
}

int admin_api_new(struct admin_api **out, struct server *srv)
{
    struct admin_api *a = calloc(1, sizeof *a);

    if (!a)
        return UV_ENOMEM;
    a->srv = srv;
    a->doc = admin_doc_from_config(srv->gen->cfg);
    pin_ports(a, a->doc);
    remember_bound(a);
    *out = a;
    return 0;
}

/*
 * The file is the API's starting point again, but a disabled proxy it gives port 0 keeps the
 * port the document remembered for it (same name, same host): enabled again through the API,
 * it listens where its clients expect it.
 */
static void keep_remembered_ports(struct admin_api *a, json_t *old, json_t *doc)
{
    json_t *p;
    size_t i;

    json_array_foreach(json_object_get(doc, "proxies"), i, p)
    {
        const char *name = str_member(p, "name");
        const struct proxy_cfg *pc = name ? cfg_proxy(a, name) : NULL;
        json_t *q = name ? admin_doc_proxy(old, name, NULL) : NULL;
        char *host = NULL;
        uint16_t port = 0;

        if (!pc || pc->enabled || pc->listen_port != 0 || !str_member(q, "listen"))
            continue;
        if (value_parse_hostport(str_member(q, "listen"),
                                 VALUE_ADDR_ANY_HOST | VALUE_ADDR_ZERO_PORT, &host, &port) == 0 &&
            port != 0 && strcmp(host, pc->listen_host) == 0)
            json_object_set(p, "listen", json_object_get(q, "listen"));
        free(host);
    }
}

void admin_api_file_reloaded(struct admin_api *a)
{
    json_t *old = a->doc;

    a->doc = admin_doc_from_config(a->srv->gen->cfg);
    pin_ports(a, a->doc);
    keep_remembered_ports(a, old, a->doc);
    json_decref(old);
    remember_bound(a);
}

void admin_api_free(struct admin_api *a)
{
    if (!a)
        return;
    json_decref(a->doc);
    json_decref(a->bound);
    free(a);
}
