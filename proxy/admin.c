#include "proxy/admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <yaml.h>

#include "proxy/conn.h"
#include "proxy/listener.h"
#include "proxy/log.h"
#include "proxy/server.h"
#include "rules/config.h"
#include "rules/diag.h"

/* Request bodies are a proxy or a toxic: anything this big is a mistake. */
#define BODY_MAX (1024 * 1024)

struct admin {
    struct server *srv;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;   /* MHD's epoll fd */
    uv_timer_t timer; /* MHD's connection timeouts */
    int handles;      /* poll and timer not closed yet */
    json_t *doc;      /* the running configuration in finwait's schema: what changes edit */
};

/* One HTTP request: its body as it arrives. */
struct req {
    char *body;
    size_t len;
    bool too_big;
};

/* What a handler answers. */
struct reply {
    unsigned status;
    json_t *json; /* NULL: no body (204) */
};

/* --- the configuration as a JSON document --- */

/* A plain YAML scalar as JSON: what YAML 1.1 would read it as, so the API shows numbers and
 * booleans as such; quoted scalars stay strings. */
static json_t *scalar_json(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    char *end;

    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_string(s);
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
        return json_boolean(s[0] == 't');
    if (s[0] == '\0' || strcmp(s, "null") == 0 || strcmp(s, "~") == 0)
        return json_null();
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0)
        return json_integer(i);
    double d = strtod(s, &end);
    if (*end == '\0')
        return json_real(d);
    return json_string(s);
}

static json_t *node_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    json_t *j;

    if (!n || depth > 64)
        return json_null();
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return scalar_json(n);
    case YAML_SEQUENCE_NODE:
        j = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++)
            json_array_append_new(j, node_json(doc, yaml_document_get_node(doc, *i), depth + 1));
        return j;
    case YAML_MAPPING_NODE:
        j = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (k && k->type == YAML_SCALAR_NODE)
                json_object_set_new(
                    j, (const char *)k->data.scalar.value,
                    node_json(doc, yaml_document_get_node(doc, p->value), depth + 1));
        }
        return j;
    default:
        return json_null();
    }
}

/* The running configuration as a document with a `proxies` array (a Toxiproxy config.json,
 * a bare array, becomes its `proxies`), from the very text it was loaded from: no second read
 * of a file that may have changed since. */
static json_t *doc_from_config(const struct config *cfg)
{
    yaml_parser_t parser;
    yaml_document_t ydoc;
    json_t *doc = NULL, *root;

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)cfg->source, cfg->source_len);
    if (yaml_parser_load(&parser, &ydoc)) {
        root = node_json(&ydoc, yaml_document_get_root_node(&ydoc), 0);
        if (json_is_array(root))
            doc = json_pack("{s:o}", "proxies", root);
        else if (json_is_object(root))
            doc = root;
        else
            json_decref(root);
        yaml_document_delete(&ydoc);
    }
    yaml_parser_delete(&parser);
    if (!doc)
        doc = json_object();
    if (!json_is_array(json_object_get(doc, "proxies")))
        json_object_set_new(doc, "proxies", json_array());
    return doc;
}

static json_t *doc_proxy(json_t *doc, const char *name, size_t *index)
{
    json_t *proxies = json_object_get(doc, "proxies"), *p;
    size_t i;

    json_array_foreach(proxies, i, p)
    {
        if (json_is_string(json_object_get(p, "name")) &&
            strcmp(json_string_value(json_object_get(p, "name")), name) == 0) {
            if (index)
                *index = i;
            return p;
        }
    }
    return NULL;
}

/* A fault's name as the loader gives it: `name`, or the type. */
static const char *fault_name(json_t *f)
{
    json_t *n = json_object_get(f, "name");

    if (!json_is_string(n))
        n = json_object_get(f, "type");
    return json_is_string(n) ? json_string_value(n) : "";
}

static json_t *doc_fault(json_t *proxy, const char *name, size_t *index)
{
    json_t *faults = json_object_get(proxy, "faults"), *f;
    size_t i;

    json_array_foreach(faults, i, f)
    {
        if (strcmp(fault_name(f), name) == 0) {
            if (index)
                *index = i;
            return f;
        }
    }
    return NULL;
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

/* Toxiproxy's attributes of a toxic, with its defaults filled in as Toxiproxy shows them;
 * finwait's own faults show the parameters they were given. */
static json_t *toxic_attributes(const struct fault *f, json_t *given)
{
    static const char *const not_attributes[] = {"type",     "name",        "stream", "direction",
                                                 "toxicity", "probability", "match"};
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
        bool skip = false;
        for (size_t i = 0; i < sizeof not_attributes / sizeof not_attributes[0]; i++)
            skip |= strcmp(k, not_attributes[i]) == 0;
        if (!skip)
            json_object_set(a, k, v);
    }
    return a;
}

static json_t *toxic_json(const struct fault *f, json_t *given)
{
    return json_pack("{s:s,s:s,s:s,s:f,s:o}", "name", f->name, "type", fault_type_name(f->type),
                     "stream", fault_dir_name(f->direction), "toxicity", f->probability,
                     "attributes", toxic_attributes(f, given));
}

static json_t *toxics_json(const struct proxy_cfg *p, json_t *doc_p)
{
    json_t *arr = json_array(), *faults = json_object_get(doc_p, "faults");

    for (size_t i = 0; i < p->nfaults; i++)
        json_array_append_new(arr, toxic_json(&p->faults[i], json_array_get(faults, i)));
    return arr;
}

/* A proxy as Toxiproxy shows it; `listen` is the bound address (the port given for :0). */
static json_t *proxy_json(const struct admin *a, const struct proxy_cfg *p)
{
    const struct listener *l = listener_of(a->srv, p->name);
    json_t *doc_p = doc_proxy(a->doc, p->name, NULL);

    return json_pack("{s:s,s:o,s:o,s:b,s:o}", "name", p->name, "listen",
                     l ? json_string(l->addr_text) : addr_json(p->listen_host, p->listen_port),
                     "upstream", addr_json(p->upstream_host, p->upstream_port), "enabled",
                     p->enabled, "toxics", toxics_json(p, doc_p));
}

static const struct proxy_cfg *cfg_proxy(const struct admin *a, const char *name)
{
    const struct config *cfg = a->srv->gen->cfg;

    for (size_t i = 0; i < cfg->nproxies; i++)
        if (strcmp(cfg->proxies[i].name, name) == 0)
            return &cfg->proxies[i];
    return NULL;
}

/* --- applying a change --- */

static bool doc_enabled(json_t *p)
{
    return p && !json_is_false(json_object_get(p, "enabled"));
}

/* Toxiproxy cuts a proxy's connections when it is disabled or deleted: those of every proxy
 * enabled in `before` and gone or disabled in `after`. */
static void cut_connections(struct admin *a, json_t *before, json_t *after)
{
    json_t *p;
    size_t i;

    json_array_foreach(json_object_get(before, "proxies"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        json_t *q = name ? doc_proxy(after, name, NULL) : NULL;
        if (!name || !doc_enabled(p) || doc_enabled(q))
            continue;
        for (struct conn *c = a->srv->conns; c; c = c->next)
            if (strcmp(conn_proxy_name(c), name) == 0)
                conn_abort(c, q ? "proxy disabled through the admin API"
                                : "proxy deleted through the admin API");
    }
}

/* Load `next` as a configuration and make it the running one. On failure `next` is dropped
 * and the reply says what is wrong with the request; on success the API's document is
 * `next`. */
static bool apply(struct admin *a, json_t *next, const char *what, struct reply *fail)
{
    char *text = json_dumps(next, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    struct config *cfg = NULL;
    struct diag d;
    char msg[2048] = "";

    diag_init(&d);
    if (!text ||
        config_load_string_with("admin API", text, strlen(text), a->srv->ov, &cfg, &d) != 0) {
        /* positions are in a document the client never saw: say what and where instead */
        for (size_t i = 0; i < d.n && strlen(msg) < sizeof msg - 200; i++) {
            const char *src = d.msgs[i].src_line ? d.msgs[i].src_line : "";
            while (*src == ' ')
                src++;
            if (!strchr(src, ':'))
                src = ""; /* a bracket says nothing; a `"key": value` line does */
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s%s%s%s%s", i ? "; " : "",
                     d.msgs[i].text, *src ? " (at " : "", src, *src ? ")" : "");
        }
        *fail = error_reply(400, "%s", msg[0] ? msg : "out of memory");
        diag_free(&d);
        free(text);
        json_decref(next);
        return false;
    }
    diag_free(&d);
    free(text);
    if (server_reload(a->srv, cfg, msg, sizeof msg) != 0) {
        /* the request was valid; what it asks for cannot be had (an address in use) */
        *fail = error_reply(409, "%s; nothing changed", msg);
        json_decref(next);
        return false;
    }
    LOG(LOG_LEVEL_INFO, NULL, "api", "admin API: %s", what);
    cut_connections(a, a->doc, next);
    json_decref(a->doc);
    a->doc = next;
    return true;
}

static const char *str_member(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Copy a Toxiproxy proxy's fields into a document proxy. */
static struct reply *proxy_fields(json_t *in, json_t *p, struct reply *fail)
{
    static const char *const keys[] = {"name", "listen", "upstream", "enabled"};
    const char *k;
    json_t *v;

    json_object_foreach(in, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            known |= strcmp(k, keys[i]) == 0;
        if (strcmp(k, "toxics") == 0)
            continue; /* Toxiproxy ignores them here too */
        if (!known) {
            *fail = error_reply(400,
                                "unknown field '%s' (expected name, listen, upstream, enabled)", k);
            return fail;
        }
        json_object_set(p, k, v);
    }
    return NULL;
}

/* A request that failed before its change was applied: the edited copy goes. */
static struct reply drop(json_t *next, struct reply r)
{
    json_decref(next);
    return r;
}

/* Put the Toxiproxy proxy `in` into the document `next`: a new proxy, or with `populate` the
 * one of that name updated. Returns NULL, or `fail` filled in. */
static struct reply *put_proxy(json_t *next, json_t *in, bool populate, struct reply *fail)
{
    const char *name = str_member(in, "name");
    json_t *p;

    if (!json_is_object(in)) {
        *fail = error_reply(400, "expected a proxy object");
        return fail;
    }
    if (!name || !*name) {
        *fail = error_reply(400, "missing required field: name");
        return fail;
    }
    p = doc_proxy(next, name, NULL);
    if (p && !populate) {
        *fail = error_reply(409, "proxy already exists");
        return fail;
    }
    if (!p) {
        p = json_object();
        json_object_set_new(p, "enabled", json_true());
        json_array_append_new(json_object_get(next, "proxies"), p);
    }
    return proxy_fields(in, p, fail);
}

static struct reply create_proxy(struct admin *a, json_t *in)
{
    json_t *next = json_deep_copy(a->doc);
    struct reply fail;
    char what[300];

    if (put_proxy(next, in, false, &fail))
        return drop(next, fail);
    snprintf(what, sizeof what, "created proxy '%s'", str_member(in, "name"));
    if (!apply(a, next, what, &fail))
        return fail;
    return (struct reply){201, proxy_json(a, cfg_proxy(a, str_member(in, "name")))};
}

static struct reply update_proxy(struct admin *a, const char *name, json_t *in)
{
    json_t *next = json_deep_copy(a->doc), *p = doc_proxy(next, name, NULL);
    struct reply fail;
    char what[300];

    if (!p)
        return drop(next, error_reply(404, "proxy not found"));
    if (!json_is_object(in))
        return drop(next, error_reply(400, "expected a proxy object"));
    if (str_member(in, "name") && strcmp(str_member(in, "name"), name) != 0)
        return drop(next,
                    error_reply(400, "a proxy cannot be renamed: delete it and create it again"));
    if (proxy_fields(in, p, &fail))
        return drop(next, fail);
    snprintf(what, sizeof what, "updated proxy '%s'", name);
    if (!apply(a, next, what, &fail))
        return fail;
    return (struct reply){200, proxy_json(a, cfg_proxy(a, name))};
}

static struct reply delete_proxy(struct admin *a, const char *name)
{
    json_t *next = json_deep_copy(a->doc);
    struct reply fail;
    char what[300];
    size_t i;

    if (!doc_proxy(next, name, &i))
        return drop(next, error_reply(404, "proxy not found"));
    json_array_remove(json_object_get(next, "proxies"), i);
    snprintf(what, sizeof what, "deleted proxy '%s'", name);
    if (!apply(a, next, what, &fail))
        return fail;
    return (struct reply){204, NULL};
}

/* Toxiproxy's Go client sends `"name": ""` for a toxic it did not name: no name. */
static bool empty_string(json_t *v)
{
    return json_is_string(v) && json_string_value(v)[0] == '\0';
}

/* A Toxiproxy toxic ({name, type, stream, toxicity, attributes}) into a document fault. */
static struct reply *toxic_fields(json_t *in, json_t *f, bool create, struct reply *fail)
{
    const char *type = str_member(in, "type"), *k;
    enum fault_type t;
    bool toxic;
    json_t *v;

    if (create && !type) {
        *fail = error_reply(400, "missing required field: type");
        return fail;
    }
    if (!type)
        type = str_member(f, "type");
    /* an unknown type goes on to the loader, whose message lists the valid ones */
    toxic = !type || !fault_type_lookup(type, &t) || fault_type_is_toxic(t);
    json_object_foreach(in, k, v)
    {
        if (strcmp(k, "name") == 0) {
            if (!empty_string(v))
                json_object_set(f, k, v);
        } else if (strcmp(k, "type") == 0)
            json_object_set(f, k, v);
        else if (strcmp(k, "stream") == 0) {
            /* Toxiproxy's clients always send one; a fault that acts on the whole
             * connection (refuse, drop_fin, ...) has no direction to take it */
            if (toxic || fault_type_has_param(t, "direction"))
                json_object_set(f, toxic ? "stream" : "direction", v);
        } else if (strcmp(k, "toxicity") == 0)
            json_object_set(f, toxic ? "toxicity" : "probability", v);
        else if (strcmp(k, "attributes") == 0 && json_is_object(v)) {
            const char *ak;
            json_t *av;
            json_object_foreach(v, ak, av) json_object_set(f, ak, av);
        } else if (strcmp(k, "attributes") != 0 || !json_is_null(v)) {
            *fail = error_reply(400,
                                "unknown field '%s' (expected name, type, stream, toxicity, "
                                "attributes)",
                                k);
            return fail;
        }
    }
    return NULL;
}

static struct reply create_toxic(struct admin *a, const char *proxy, json_t *in)
{
    json_t *next = json_deep_copy(a->doc), *p = doc_proxy(next, proxy, NULL), *faults, *f;
    const struct proxy_cfg *pc;
    struct reply fail;
    char what[600], name[200];

    if (!p)
        return drop(next, error_reply(404, "proxy not found"));
    if (!json_is_object(in))
        return drop(next, error_reply(400, "expected a toxic object"));
    /* Toxiproxy names a toxic TYPE_STREAM when the client does not. The name goes first so
     * the loader's messages about the other fields can use it. */
    if (str_member(in, "name") && *str_member(in, "name"))
        snprintf(name, sizeof name, "%s", str_member(in, "name"));
    else
        snprintf(name, sizeof name, "%s_%s", str_member(in, "type") ? str_member(in, "type") : "",
                 str_member(in, "stream") ? str_member(in, "stream") : "downstream");
    f = json_pack("{s:s}", "name", name);
    if (toxic_fields(in, f, true, &fail)) {
        json_decref(f);
        json_decref(next);
        return fail;
    }
    if (doc_fault(p, name, NULL)) {
        json_decref(f);
        json_decref(next);
        return error_reply(409, "toxic already exists");
    }
    faults = json_object_get(p, "faults");
    if (!json_is_array(faults)) {
        faults = json_array();
        json_object_set_new(p, "faults", faults);
    }
    json_array_append_new(faults, f);
    snprintf(what, sizeof what, "added toxic '%s' to proxy '%s'", name, proxy);
    if (!apply(a, next, what, &fail))
        return fail;
    pc = cfg_proxy(a, proxy);
    return (struct reply){
        200, toxic_json(&pc->faults[pc->nfaults - 1],
                        json_array_get(json_object_get(p, "faults"), pc->nfaults - 1))};
}

static struct reply update_toxic(struct admin *a, const char *proxy, const char *toxic, json_t *in)
{
    json_t *next = json_deep_copy(a->doc), *p = doc_proxy(next, proxy, NULL), *f;
    const struct proxy_cfg *pc;
    struct reply fail;
    char what[600];
    size_t i;

    f = p ? doc_fault(p, toxic, &i) : NULL;
    if (!f)
        return drop(next, error_reply(404, p ? "toxic not found" : "proxy not found"));
    if (!json_is_object(in))
        return drop(next, error_reply(400, "expected a toxic object"));
    if (str_member(in, "name") && strcmp(str_member(in, "name"), toxic) != 0)
        return drop(next,
                    error_reply(400, "a toxic cannot be renamed: delete it and add it again"));
    if (str_member(in, "type") && strcmp(str_member(in, "type"), str_member(f, "type")) != 0)
        return drop(next,
                    error_reply(400, "a toxic's type cannot change: delete it and add it again"));
    if (toxic_fields(in, f, false, &fail))
        return drop(next, fail);
    snprintf(what, sizeof what, "updated toxic '%s' of proxy '%s'", toxic, proxy);
    if (!apply(a, next, what, &fail))
        return fail;
    pc = cfg_proxy(a, proxy);
    return (struct reply){
        200,
        toxic_json(&pc->faults[i],
                   json_array_get(json_object_get(doc_proxy(a->doc, proxy, NULL), "faults"), i))};
}

static struct reply delete_toxic(struct admin *a, const char *proxy, const char *toxic)
{
    json_t *next = json_deep_copy(a->doc), *p = doc_proxy(next, proxy, NULL);
    struct reply fail;
    char what[600];
    size_t i;

    if (!p || !doc_fault(p, toxic, &i))
        return drop(next, error_reply(404, p ? "toxic not found" : "proxy not found"));
    json_array_remove(json_object_get(p, "faults"), i);
    snprintf(what, sizeof what, "removed toxic '%s' from proxy '%s'", toxic, proxy);
    if (!apply(a, next, what, &fail))
        return fail;
    return (struct reply){204, NULL};
}

/* POST /reset: every proxy enabled, every toxic gone. */
static struct reply reset_all(struct admin *a)
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
static struct reply populate(struct admin *a, json_t *in)
{
    json_t *list = json_is_object(in) ? json_object_get(in, "proxies") : in, *item, *next, *out;
    struct reply fail;
    char what[100];
    size_t i;

    if (!json_is_array(list))
        return error_reply(400, "expected an array of proxies");
    next = json_deep_copy(a->doc);
    json_array_foreach(list, i, item)
    {
        if (put_proxy(next, item, true, &fail))
            return drop(next, fail);
    }
    snprintf(what, sizeof what, "populated %zu prox%s", json_array_size(list),
             json_array_size(list) == 1 ? "y" : "ies");
    if (!apply(a, next, what, &fail))
        return fail;
    out = json_array();
    json_array_foreach(list, i, item)
        json_array_append_new(out, proxy_json(a, cfg_proxy(a, str_member(item, "name"))));
    return (struct reply){201, json_pack("{s:o}", "proxies", out)};
}

/* --- routing --- */

static struct reply get_toxic(struct admin *a, const char *proxy, const char *toxic)
{
    const struct proxy_cfg *pc = cfg_proxy(a, proxy);
    json_t *faults = json_object_get(doc_proxy(a->doc, proxy, NULL), "faults");

    if (!pc)
        return error_reply(404, "proxy not found");
    for (size_t i = 0; i < pc->nfaults; i++)
        if (strcmp(pc->faults[i].name, toxic) == 0)
            return (struct reply){200, toxic_json(&pc->faults[i], json_array_get(faults, i))};
    return error_reply(404, "toxic not found");
}

static struct reply all_proxies(struct admin *a)
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

static struct reply route(struct admin *a, const char *method, const char *url, json_t *in)
{
    bool get = strcmp(method, "GET") == 0, del = strcmp(method, "DELETE") == 0;
    bool post = strcmp(method, "POST") == 0, patch = strcmp(method, "PATCH") == 0;
    char buf[1024], *seg[4];
    int n = split_path(url, buf, sizeof buf, seg);

    if (n == 1 && strcmp(seg[0], "version") == 0 && get)
        return (struct reply){200, json_pack("{s:s}", "version", FINWAIT_VERSION)};
    if (n == 1 && strcmp(seg[0], "reset") == 0 && post)
        return reset_all(a);
    if (n == 1 && strcmp(seg[0], "populate") == 0 && post)
        return populate(a, in);
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
            return pc ? (struct reply){200, toxics_json(pc, doc_proxy(a->doc, seg[1], NULL))}
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
            return error_reply(405, "method %s not allowed on %s", method, url);
    }
    return error_reply(404, "no such endpoint: %s %s", method, url);
}

/* --- HTTP (libmicrohttpd in the loop) --- */

static void schedule(struct admin *a);

static enum MHD_Result send_reply(struct MHD_Connection *mc, struct reply r)
{
    char *text = r.json ? json_dumps(r.json, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    struct MHD_Response *resp;
    enum MHD_Result ok;

    if (r.json && !text) {
        r.status = 500;
        text = strdup("{\"error\":\"out of memory\",\"status\":500}");
    }
    resp = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : (void *)"",
                                           MHD_RESPMEM_MUST_COPY);
    if (text)
        MHD_add_response_header(resp, "Content-Type", "application/json");
    ok = MHD_queue_response(mc, r.status, resp);
    MHD_destroy_response(resp);
    free(text);
    json_decref(r.json);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct admin *a = cls;
    struct req *rq = *con_cls;
    json_t *in = NULL;
    json_error_t jerr;
    struct reply r;

    (void)version;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        *con_cls = rq;
        return rq ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        if (rq->len + *upload_size > BODY_MAX) {
            rq->too_big = true;
        } else {
            char *b = realloc(rq->body, rq->len + *upload_size + 1);
            if (!b)
                return MHD_NO;
            memcpy(b + rq->len, upload, *upload_size);
            rq->body = b;
            rq->len += *upload_size;
            b[rq->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_big)
        return send_reply(mc, error_reply(413, "request body over %d bytes", BODY_MAX));
    if (rq->len) {
        in = json_loadb(rq->body, rq->len, 0, &jerr);
        if (!in)
            return send_reply(mc, error_reply(400, "bad request body: %s (line %d, column %d)",
                                              jerr.text, jerr.line, jerr.column));
    } else {
        in = json_object();
    }
    r = route(a, method, url, in);
    json_decref(in);
    if (r.status >= 400)
        LOG(LOG_LEVEL_WARN, NULL, "api", "admin API: %s %s: %u %s", method, url, r.status,
            json_string_value(json_object_get(r.json, "error")));
    return send_reply(mc, r);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;

    (void)cls, (void)mc, (void)toe;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    LOG(LOG_LEVEL_WARN, NULL, "api", "admin API: %s", msg);
}

static void run(struct admin *a)
{
    MHD_run(a->mhd);
    schedule(a);
}

static void on_timer(uv_timer_t *t)
{
    run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status, (void)events;
    run(p->data);
}

/* MHD's own timeouts (idle HTTP connections), and work it left for the next round. */
static void schedule(struct admin *a)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (MHD_get_timeout(a->mhd, &ms) == MHD_YES)
        uv_timer_start(&a->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&a->timer);
}

int admin_start(struct admin **out, struct server *srv, const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    const union MHD_DaemonInfo *info;
    struct admin *a;
    char addr[80];

    memset(&ss, 0, sizeof ss);
    if (host[0] == '\0')
        host = "::";
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
        LOG(LOG_LEVEL_ERROR, NULL, "admin", "admin API: '%s' is not an IP address", host);
        return -1;
    }
    a = calloc(1, sizeof *a);
    if (!a)
        return -1;
    a->srv = srv;
    a->mhd = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_DUAL_STACK : 0), 0,
        NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!a->mhd) {
        LOG(LOG_LEVEL_ERROR, NULL, "admin", "admin API: cannot listen on %s",
            hostport_text(host, port, addr, sizeof addr));
        free(a);
        return -1;
    }
    info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (info)
        port = info->port;
    hostport_text(host, port, addr, sizeof addr);
    a->doc = doc_from_config(srv->gen->cfg);
    info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    uv_poll_init(srv->loop, &a->poll, info->epoll_fd);
    uv_timer_init(srv->loop, &a->timer);
    a->poll.data = a;
    a->timer.data = a;
    a->handles = 2;
    uv_poll_start(&a->poll, UV_READABLE, on_poll);
    schedule(a);
    /* Always printed, like the proxies' listening lines: tests and scripts read the port. */
    struct log_kv kv[] = {{"addr", addr, 0}};
    log__event(LOG_LEVEL_INFO, NULL, "admin_listening", kv, 1,
               "admin API (Toxiproxy's) listening on %s", addr);
    *out = a;
    return 0;
}

void admin_file_reloaded(struct admin *a)
{
    json_decref(a->doc);
    a->doc = doc_from_config(a->srv->gen->cfg);
}

static void on_closed(uv_handle_t *h)
{
    struct admin *a = h->data;

    if (--a->handles == 0)
        free(a);
}

void admin_stop(struct admin *a)
{
    /* out of libuv's epoll before MHD closes the fd */
    uv_poll_stop(&a->poll);
    MHD_stop_daemon(a->mhd);
    json_decref(a->doc);
    uv_close((uv_handle_t *)&a->poll, on_closed);
    uv_close((uv_handle_t *)&a->timer, on_closed);
}
