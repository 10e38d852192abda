/*
 * The YAML walk: libyaml's document API gives a tree of nodes with positions; each kind of
 * mapping (top level, log, admin, proxy) has a table of keys and handlers. Every problem is
 * reported with its FILE:LINE:COL and the walk goes on, so one run shows all of them. The
 * faults' mappings are read by rules/config_fault.c; the model and the entry points are in
 * rules/config.c.
 */
#include "rules/config_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/fault.h"
#include "rules/value.h"

/* --- errors --- */

static void src_line(struct ld *ld, size_t line0, char *buf, size_t cap)
{
    const char *p = ld->text, *end = ld->text + ld->len, *eol;
    size_t l = 0;

    if (ld->line_at) {
        p = ld->line_at;
        l = ld->line_no;
    }
    /* Back to the start of the line before. libyaml also breaks lines at a lone '\r', so its
     * count may run ahead of ours: reaching the top means line 0, whatever was counted. */
    while (l > line0) {
        const char *nl = p > ld->text ? memrchr(ld->text, '\n', (size_t)(p - 1 - ld->text)) : NULL;
        p = nl ? nl + 1 : ld->text;
        l = nl ? l - 1 : 0;
    }
    for (; l < line0 && p < end; l++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p) {
            buf[0] = '\0';
            return;
        }
        p++;
    }
    ld->line_at = p;
    ld->line_no = line0;
    eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    if (eol > p && eol[-1] == '\r')
        eol--;
    snprintf(buf, cap, "%.*s", (int)(eol - p), p);
}

void config__err_at(struct ld *ld, yaml_mark_t m, const char *fmt, ...)
{
    char text[900], line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    src_line(ld, m.line, line, sizeof line);
    diag_add(ld->d, ld->file, (unsigned)m.line + 1, (unsigned)m.column + 1, line, "%s", text);
    ld->errors++;
}

const char *config__node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a value";
    }
}

bool config__want_scalar(struct ld *ld, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_SCALAR_NODE)
        return true;
    ERR(ld, n, "expected %s, got %s", what, config__node_kind(n));
    return false;
}

bool config__want_mapping(struct ld *ld, const yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE)
        return true;
    ERR(ld, n, "expected a mapping (check indentation)");
    return false;
}

/* --- suggestions --- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t prev[64], cur[64];

    if (la >= 63 || lb >= 63)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

/* The closest of `names` to `word` if it is close enough to be a typo, else NULL. */
const char *config__closest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;

    for (size_t i = 0; i < n; i++) {
        size_t dist = edit_distance(word, names[i]);
        if (dist < best_d) {
            best_d = dist;
            best = names[i];
        }
    }
    /* one edit, or one in three letters: 'upsteam' -> 'upstream', but not 'rate' -> 'name' */
    return best_d <= 1 || best_d <= strlen(word) / 3 ? best : NULL;
}

/* --- generic mapping walk --- */

typedef void (*key_fn)(struct ld *ld, yaml_node_t *val, void *obj);

struct key {
    const char *name;
    key_fn fn;
};

int config__key_index(struct ld *ld, yaml_node_t *k, const char *const *names, size_t n,
                      uint32_t *seen, const char *where)
{
    size_t i;

    if (k->type != YAML_SCALAR_NODE) {
        ERR(ld, k, "expected a key name, got %s", config__node_kind(k));
        return -1;
    }
    for (i = 0; i < n; i++)
        if (strcmp(scalar(k), names[i]) == 0)
            break;
    if (i == n) {
        const char *s = config__closest(scalar(k), names, n);
        char list[256] = "";
        for (size_t j = 0; j < n; j++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "",
                     names[j]);
        if (s)
            ERR(ld, k, "unknown key '%s' %s(did you mean '%s'?)", scalar(k), where, s);
        else
            ERR(ld, k, "unknown key '%s' %s(expected one of: %s)", scalar(k), where, list);
        return -1;
    }
    if (*seen & (1u << i)) {
        ERR(ld, k, "duplicate key '%s'", scalar(k));
        return -1;
    }
    *seen |= 1u << i;
    return (int)i;
}

/*
 * Call the handler of every key of mapping `map`; unknown keys and duplicate keys are errors.
 * `seen` gets one bit per key of the table (so a table has at most 32 keys).
 */
static void walk(struct ld *ld, yaml_node_t *map, const struct key *keys, size_t nkeys, void *obj,
                 uint32_t *seen, const char *where)
{
    const char *names[32];

    for (size_t i = 0; i < nkeys; i++)
        names[i] = keys[i].name;
    *seen = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        int i = config__key_index(ld, yaml_document_get_node(&ld->doc, p->key), names, nkeys, seen,
                                  where);
        if (i >= 0)
            keys[i].fn(ld, yaml_document_get_node(&ld->doc, p->value), obj);
    }
}

yaml_node_t *config__find_key(struct ld *ld, yaml_node_t *map, const char *name)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(scalar(k), name) == 0)
            return yaml_document_get_node(&ld->doc, p->value);
    }
    return NULL;
}

/* --- values --- */

/* A duration into milliseconds (rounded up: 1500us waits 2 ms, never less than asked). */
bool config__get_duration_ms(struct ld *ld, yaml_node_t *v, uint64_t *out)
{
    uint64_t us;
    int r;

    if (!config__want_scalar(ld, v, "a duration like 250ms, 2s or 1m"))
        return false;
    r = value_parse_duration_us(scalar(v), 1000, &us);
    if (r == -ERANGE) {
        ERR(ld, v, "duration '%s' is too large (at most " VALUE_DURATION_MAX_TEXT ")", scalar(v));
        return false;
    }
    if (r != 0) {
        ERR(ld, v, "expected a duration like 250ms, 2s or 1m, got '%s'", scalar(v));
        return false;
    }
    *out = (us + 999) / 1000;
    return true;
}

/* A decimal integer up to `max`; `what` names it in messages ("a number of bytes"). */
bool config__get_uint(struct ld *ld, yaml_node_t *v, const char *what, uint64_t max, uint64_t *out)
{
    int r;

    if (!config__want_scalar(ld, v, what))
        return false;
    r = value_parse_uint(scalar(v), max, out);
    if (r == -ERANGE) {
        ERR(ld, v, "'%s' is too large (at most %llu)", scalar(v), (unsigned long long)max);
        return false;
    }
    if (r != 0) {
        ERR(ld, v, "expected %s, got '%s'", what, scalar(v));
        return false;
    }
    return true;
}

bool config__get_bool(struct ld *ld, yaml_node_t *v, bool *out)
{
    if (!config__want_scalar(ld, v, "true or false"))
        return false;
    if (value_parse_bool(scalar(v), out) != 0) {
        ERR(ld, v, "expected true or false, got '%s'", scalar(v));
        return false;
    }
    return true;
}

/* One of `names` (an enum's spellings, index = value). */
bool config__get_enum(struct ld *ld, yaml_node_t *v, const char *const *names, size_t n,
                      const int *values, int *out)
{
    char list[256] = "";

    if (!config__want_scalar(ld, v, "a name"))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(scalar(v), names[i]) == 0) {
            *out = values[i];
            return true;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    }
    ERR(ld, v, "invalid value '%s' (expected one of: %s)", scalar(v), list);
    return false;
}

/* --- log: --- */

static void k_log_format(struct ld *ld, yaml_node_t *v, void *obj)
{
    static const char *const names[] = {"text", "json"};
    static const int values[] = {LOG_FORMAT_TEXT, LOG_FORMAT_JSON};
    int x;

    (void)obj;
    if (GET_ENUM(ld, v, names, values, &x))
        ld->cfg->log_format = (enum log_format)x;
}

static void k_log_level(struct ld *ld, yaml_node_t *v, void *obj)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    static const int values[] = {LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG};
    int x;

    (void)obj;
    if (GET_ENUM(ld, v, names, values, &x))
        ld->cfg->log_level = (enum log_level)x;
}

static void k_log_timeline(struct ld *ld, yaml_node_t *v, void *obj)
{
    (void)obj;
    config__get_bool(ld, v, &ld->cfg->log_timeline);
}

static const struct key log_keys[] = {
    {"format", k_log_format},
    {"level", k_log_level},
    {"timeline", k_log_timeline},
};

/* --- proxies --- */

static void k_px_name(struct ld *ld, yaml_node_t *v, void *obj)
{
    struct proxy_cfg *p = obj;

    if (!config__want_scalar(ld, v, "a proxy name"))
        return;
    if (scalar(v)[0] == '\0') {
        ERR(ld, v, "a proxy name cannot be empty");
        return;
    }
    p->name = strdup(scalar(v));
}

static void addr_error(struct ld *ld, yaml_node_t *v, int r, bool listen)
{
    if (r == -ENOMEM)
        ERR(ld, v, "out of memory");
    else if (r == -ERANGE)
        ERR(ld, v, "invalid port in '%s' (expected %s..65535)", scalar(v), listen ? "0" : "1");
    else
        ERR(ld, v, "invalid address '%s' (expected host:port, [v6]:port%s)", scalar(v),
            listen ? " or :port" : "");
}

static void k_px_listen(struct ld *ld, yaml_node_t *v, void *obj)
{
    struct proxy_cfg *p = obj;
    int r;

    if (!config__want_scalar(ld, v, "an address like 127.0.0.1:8080"))
        return;
    r = value_parse_hostport(scalar(v), VALUE_ADDR_ANY_HOST | VALUE_ADDR_ZERO_PORT, &p->listen_host,
                             &p->listen_port);
    if (r != 0)
        addr_error(ld, v, r, true);
}

static void k_px_upstream(struct ld *ld, yaml_node_t *v, void *obj)
{
    struct proxy_cfg *p = obj;
    int r;

    if (!config__want_scalar(ld, v, "an address like localhost:8080"))
        return;
    r = value_parse_hostport(scalar(v), 0, &p->upstream_host, &p->upstream_port);
    if (r != 0)
        addr_error(ld, v, r, false);
}

static void k_px_enabled(struct ld *ld, yaml_node_t *v, void *obj)
{
    config__get_bool(ld, v, &((struct proxy_cfg *)obj)->enabled);
}

static void k_px_connect_timeout(struct ld *ld, yaml_node_t *v, void *obj)
{
    struct proxy_cfg *p = obj;

    if (config__get_duration_ms(ld, v, &p->connect_timeout_ms) && p->connect_timeout_ms == 0)
        ERR(ld, v, "connect_timeout must be more than 0");
}

static void k_px_idle_timeout(struct ld *ld, yaml_node_t *v, void *obj)
{
    config__get_duration_ms(ld, v, &((struct proxy_cfg *)obj)->idle_timeout_ms);
}

static void k_px_half_close_probe(struct ld *ld, yaml_node_t *v, void *obj)
{
    struct proxy_cfg *p = obj;

    /* the kernel's keepalive timers count whole seconds */
    if (config__get_duration_ms(ld, v, &p->half_close_probe_ms) && p->half_close_probe_ms > 0 &&
        p->half_close_probe_ms < 1000)
        ERR(ld, v, "half_close_probe must be 0 (off) or at least 1s");
}

static void k_px_on_upstream_failure(struct ld *ld, yaml_node_t *v, void *obj)
{
    struct proxy_cfg *p = obj;

    if (!config__want_scalar(ld, v, "reset or close"))
        return;
    if (strcmp(scalar(v), "reset") == 0)
        p->on_upstream_failure = ON_UPSTREAM_FAILURE_RESET;
    else if (strcmp(scalar(v), "close") == 0)
        p->on_upstream_failure = ON_UPSTREAM_FAILURE_CLOSE;
    else
        ERR(ld, v, "invalid on_upstream_failure '%s' (expected reset or close)", scalar(v));
}

static void k_px_faults(struct ld *ld, yaml_node_t *v, void *obj)
{
    struct proxy_cfg *p = obj;
    size_t n;

    /* `faults:` with nothing after it, or the `null` the admin API's JSON copy makes of it */
    if (v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (scalar(v)[0] == '\0' || strcmp(scalar(v), "null") == 0 || strcmp(scalar(v), "~") == 0))
        return;
    if (v->type != YAML_SEQUENCE_NODE) {
        ERR(ld, v, "expected a list of faults, got %s", config__node_kind(v));
        return;
    }
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > FAULTS_MAX) {
        ERR(ld, v, "too many faults (%zu): at most %d per proxy", n, FAULTS_MAX);
        return;
    }
    p->faults = calloc(n ? n : 1, sizeof *p->faults);
    if (!p->faults)
        return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *fn = yaml_document_get_node(&ld->doc, v->data.sequence.items.start[i]);
        config__parse_fault(ld, fn, &p->faults[i]);
        p->nfaults = i + 1; /* freed with the proxy even when invalid */
    }
    config__check_combinations(ld, v, p);
}

static void k_px_intercept(struct ld *ld, yaml_node_t *v, void *obj)
{
    config__parse_intercept(ld, v, obj);
}

static void k_px_verdicts(struct ld *ld, yaml_node_t *v, void *obj)
{
    config__parse_verdicts(ld, v, &((struct proxy_cfg *)obj)->verdicts);
}

/* name, listen and upstream first: parse_proxy checks them by their bit */
static const struct key proxy_keys[] = {
    {"name", k_px_name},
    {"listen", k_px_listen},
    {"upstream", k_px_upstream},
    {"enabled", k_px_enabled},
    {"connect_timeout", k_px_connect_timeout},
    {"idle_timeout", k_px_idle_timeout},
    {"half_close_probe", k_px_half_close_probe},
    {"on_upstream_failure", k_px_on_upstream_failure},
    {"faults", k_px_faults},
    {"intercept", k_px_intercept},
    {"verdicts", k_px_verdicts},
};

static void parse_proxy(struct ld *ld, yaml_node_t *n, struct proxy_cfg *p)
{
    uint32_t seen;
    static const char *const required[] = {"name", "listen", "upstream"};

    memset(p, 0, sizeof *p);
    p->enabled = true;
    p->connect_timeout_ms = 5000;
    p->half_close_probe_ms = 60000;
    verdict_cfg_default(&p->verdicts);
    /* Toxiproxy's proxies end a client with a FIN when the upstream fails; finwait's own
     * with an RST, which a test of teardown sees at once */
    p->on_upstream_failure =
        ld->toxiproxy_list ? ON_UPSTREAM_FAILURE_CLOSE : ON_UPSTREAM_FAILURE_RESET;
    p->pos.line = (unsigned)n->start_mark.line + 1;
    p->pos.col = (unsigned)n->start_mark.column + 1;
    if (!config__want_mapping(ld, n))
        return;
    walk(ld, n, proxy_keys, sizeof proxy_keys / sizeof proxy_keys[0], p, &seen, "in proxy ");
    for (size_t i = 0; i < 2; i++)
        if (!(seen & (1u << i)))
            ERR(ld, n, "missing required key '%s'", required[i]);
    /* an intercepting proxy dials each connection's original destination: no upstream needed */
    if (!(seen & (1u << 2)) && !p->intercept.on)
        ERR(ld, n,
            "missing required key 'upstream' (or 'intercept' to take connections made to "
            "other addresses)");
    if (!p->upstream_host && p->intercept.on)
        p->upstream_host = strdup("");
    config__check_intercept(ld, n, p);
    for (size_t i = 0; i < p->nfaults && !p->intercept.on; i++)
        if (p->faults[i].has_match_dest)
            config__err_at(ld,
                           (yaml_mark_t){.line = p->faults[i].pos.line - 1,
                                         .column = p->faults[i].pos.col - 1},
                           "match: destination is the original destination of an intercepted "
                           "connection: this proxy has no 'intercept'");
}

static void parse_proxies(struct ld *ld, yaml_node_t *v)
{
    struct config *cfg = ld->cfg;
    size_t n;

    if (v->type != YAML_SEQUENCE_NODE) {
        ERR(ld, v, "expected a list of proxies, got %s", config__node_kind(v));
        return;
    }
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0) {
        /* with the admin API, proxies may all come from it, as with Toxiproxy */
        ld->empty_proxies = v;
        return;
    }
    cfg->proxies = calloc(n, sizeof *cfg->proxies);
    if (!cfg->proxies)
        return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *pn = yaml_document_get_node(&ld->doc, v->data.sequence.items.start[i]);
        struct proxy_cfg *p = &cfg->proxies[i];

        parse_proxy(ld, pn, p);
        cfg->nproxies = i + 1;
        for (size_t j = 0; j < i; j++) {
            struct proxy_cfg *q = &cfg->proxies[j];
            yaml_node_t *at;
            if (p->name && q->name && strcmp(p->name, q->name) == 0) {
                at = config__find_key(ld, pn, "name");
                ERR(ld, at, "duplicate proxy name '%s' (first defined at %u:%u)", p->name,
                    q->pos.line, q->pos.col);
            }
            if (p->listen_host && q->listen_host && p->enabled && q->enabled &&
                p->listen_port != 0 && p->listen_port == q->listen_port &&
                (strcmp(p->listen_host, q->listen_host) == 0 || !p->listen_host[0] ||
                 !q->listen_host[0])) {
                at = config__find_key(ld, pn, "listen");
                ERR(ld, at, "listen address %s is already used by proxy '%s'", scalar(at),
                    q->name ? q->name : "?");
            }
        }
    }
}

/* --- top level --- */

static void k_log(struct ld *ld, yaml_node_t *v, void *obj)
{
    uint32_t seen;

    (void)obj;
    if (config__want_mapping(ld, v))
        walk(ld, v, log_keys, sizeof log_keys / sizeof log_keys[0], NULL, &seen, "in log ");
}

static void k_proxies(struct ld *ld, yaml_node_t *v, void *obj)
{
    (void)obj;
    parse_proxies(ld, v);
}

static void k_shutdown_timeout(struct ld *ld, yaml_node_t *v, void *obj)
{
    (void)obj;
    config__get_duration_ms(ld, v, &ld->cfg->shutdown_timeout_ms);
}

static void k_seed(struct ld *ld, yaml_node_t *v, void *obj)
{
    (void)obj;
    if (config__get_uint(ld, v, "an unsigned integer", UINT64_MAX, &ld->cfg->seed))
        ld->cfg->has_seed = true;
}

static void k_admin_listen(struct ld *ld, yaml_node_t *v, void *obj)
{
    int r;

    (void)obj;
    if (!config__want_scalar(ld, v, "an address like 127.0.0.1:8474"))
        return;
    r = value_parse_hostport(scalar(v), VALUE_ADDR_ANY_HOST | VALUE_ADDR_ZERO_PORT,
                             &ld->cfg->admin_host, &ld->cfg->admin_port);
    if (r != 0)
        addr_error(ld, v, r, true);
}

static void k_admin_hosts(struct ld *ld, yaml_node_t *v, void *obj)
{
    struct config *cfg = ld->cfg;
    size_t n;

    (void)obj;
    if (v->type != YAML_SEQUENCE_NODE) {
        ERR(ld, v, "expected a list of host names, got %s", config__node_kind(v));
        return;
    }
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    cfg->admin_hosts = calloc(n ? n : 1, sizeof *cfg->admin_hosts);
    if (!cfg->admin_hosts)
        return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *h = yaml_document_get_node(&ld->doc, v->data.sequence.items.start[i]);
        if (!config__want_scalar(ld, h, "a host name"))
            continue;
        if (scalar(h)[0] == '\0' || strpbrk(scalar(h), ":/ ")) {
            ERR(ld, h, "invalid host name '%s' (expected a name like finwait.test, no port)",
                scalar(h));
            continue;
        }
        cfg->admin_hosts[cfg->admin_nhosts++] = strdup(scalar(h));
    }
}

static void k_admin_token(struct ld *ld, yaml_node_t *v, void *obj)
{
    (void)obj;
    if (!config__want_scalar(ld, v, "a token"))
        return;
    /* short tokens are guessed; the header is printable text without spaces */
    if (strlen(scalar(v)) < 16) {
        ERR(ld, v, "admin token too short: at least 16 characters");
        return;
    }
    for (const char *c = scalar(v); *c; c++) {
        if (*c <= ' ' || *c == 0x7f) {
            ERR(ld, v, "admin token must be printable, without spaces");
            return;
        }
    }
    ld->cfg->admin_token = strdup(scalar(v));
}

static void k_admin_insecure(struct ld *ld, yaml_node_t *v, void *obj)
{
    (void)obj;
    config__get_bool(ld, v, &ld->cfg->admin_insecure);
}

static void k_admin_max_connections(struct ld *ld, yaml_node_t *v, void *obj)
{
    uint64_t n;

    (void)obj;
    if (!config__get_uint(ld, v, "a number of connections", 1024, &n))
        return;
    if (n < 1 || n > 1024) {
        ERR(ld, v, "max_connections must be 1..1024, got %s", scalar(v));
        return;
    }
    ld->cfg->admin_max_connections = (unsigned)n;
}

static void k_admin_request_timeout(struct ld *ld, yaml_node_t *v, void *obj)
{
    (void)obj;
    if (config__get_duration_ms(ld, v, &ld->cfg->admin_request_timeout_ms) &&
        (ld->cfg->admin_request_timeout_ms < 100 || ld->cfg->admin_request_timeout_ms > 3600000))
        ERR(ld, v, "request_timeout must be 100ms..1h, got %s", scalar(v));
}

static const struct key admin_keys[] = {
    {"listen", k_admin_listen},
    {"hosts", k_admin_hosts},
    {"token", k_admin_token},
    {"insecure", k_admin_insecure},
    {"max_connections", k_admin_max_connections},
    {"request_timeout", k_admin_request_timeout},
};

static void k_admin(struct ld *ld, yaml_node_t *v, void *obj)
{
    uint32_t seen;

    (void)obj;
    if (!config__want_mapping(ld, v))
        return;
    walk(ld, v, admin_keys, sizeof admin_keys / sizeof admin_keys[0], NULL, &seen, "in admin ");
    if (!(seen & 1u))
        ERR(ld, v, "missing required key 'listen'");
    /* whoever reaches the port drives finwait: beyond this machine, only on purpose */
    if (ld->cfg->admin_host && !value_host_is_loopback(ld->cfg->admin_host) &&
        !ld->cfg->admin_token && !ld->cfg->admin_insecure)
        ERR(ld, config__find_key(ld, v, "listen"),
            "admin API on a non-loopback address needs 'token' (or 'insecure: true' to let "
            "anyone who reaches it drive finwait)");
}

static const struct key top_keys[] = {
    {"proxies", k_proxies}, {"log", k_log},     {"shutdown_timeout", k_shutdown_timeout},
    {"seed", k_seed},       {"admin", k_admin},
};

static void parse_root(struct ld *ld, yaml_node_t *root)
{
    uint32_t seen;

    if (!root || (root->type == YAML_SCALAR_NODE && scalar(root)[0] == '\0')) {
        yaml_mark_t m = {0, 0, 0};
        config__err_at(ld, m, "empty configuration: expected a mapping with 'proxies'");
        return;
    }
    if (root->type == YAML_SEQUENCE_NODE) {
        /* a Toxiproxy config.json: an array of {name, listen, upstream, enabled} */
        ld->toxiproxy_list = true;
        parse_proxies(ld, root);
        if (ld->empty_proxies && !ld->admin_cmdline)
            ERR(ld, root, "no proxies: the list is empty (and no admin API to add any)");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        ERR(ld, root, "expected a mapping with 'proxies' (or a Toxiproxy list of proxies)");
        return;
    }
    walk(ld, root, top_keys, sizeof top_keys / sizeof top_keys[0], NULL, &seen, "");
    if (!(seen & 1u) && !ld->cfg->admin_host && !ld->admin_cmdline)
        ERR(ld, root,
            "missing required key 'proxies' (or 'admin', to create them through the API)");
    if (ld->empty_proxies && !ld->cfg->admin_host && !ld->admin_cmdline)
        ERR(ld, ld->empty_proxies, "no proxies: the list is empty (and no 'admin' API to add any)");
}

size_t config__load_yaml(struct config *cfg, const char *name, const char *text, size_t len,
                         bool admin_cmdline, bool toxiproxy_values, struct diag *d)
{
    struct ld ld = {.file = name,
                    .text = text,
                    .len = len,
                    .d = d,
                    .cfg = cfg,
                    .admin_cmdline = admin_cmdline,
                    .toxiproxy_values = toxiproxy_values};
    yaml_parser_t parser;

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &ld.doc)) {
        const char *problem = parser.problem ? parser.problem : "invalid";
        yaml_mark_t at = parser.problem_mark, ctx = parser.context_mark;

        /* An unclosed quote or bracket is noticed where the file (or the next key) is: the
         * place to fix is where it opened, which libyaml keeps as the context mark. A block
         * mapping's context is only where the mapping starts; there the problem is the line
         * libyaml stopped at (indentation). */
        if (parser.context && ctx.index < at.index && !strstr(parser.context, "block"))
            config__err_at(&ld, ctx, "YAML syntax error: %s at %zu:%zu, %s that starts here",
                           problem, at.line + 1, at.column + 1, parser.context);
        else
            config__err_at(&ld, at, "YAML syntax error: %s%s%s", problem, parser.context ? " " : "",
                           parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return ld.errors;
    }
    parse_root(&ld, yaml_document_get_root_node(&ld.doc));
    yaml_document_delete(&ld.doc);
    yaml_parser_delete(&parser);
    return ld.errors;
}
