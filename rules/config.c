/*
 * YAML -> validated configuration model.
 *
 * libyaml's document API gives a tree of nodes with positions; each kind of mapping (top
 * level, log, proxy, fault) has a table of keys and handlers. Every problem is reported with
 * its FILE:LINE:COL and the loader goes on, so one run shows all of them.
 */
#include "rules/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "rules/fault.h"
#include "rules/fault_spec.h"
#include "rules/value.h"

struct ld {
    const char *file;
    const char *text;
    size_t len;
    yaml_document_t doc;
    struct diag *d;
    size_t errors;
    struct config *cfg;
    yaml_node_t *empty_proxies; /* `proxies: []`, an error unless the admin API is on */
    bool toxiproxy_values;      /* accept Toxiproxy's lenient values (CONFIG_TOXIPROXY_VALUES) */
    const char *line_at;        /* start of line line_no (0-based) of text: src_line() goes */
    size_t line_no;             /* on from the last line it found, not from the top */
    bool admin_cmdline;         /* the command line turns the admin API on */
};

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

static void err_at(struct ld *ld, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void err_at(struct ld *ld, yaml_mark_t m, const char *fmt, ...)
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

#define ERR(ld, node, ...) err_at((ld), (node)->start_mark, __VA_ARGS__)

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static const char *node_kind(const yaml_node_t *n)
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

static bool want_scalar(struct ld *ld, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_SCALAR_NODE)
        return true;
    ERR(ld, n, "expected %s, got %s", what, node_kind(n));
    return false;
}

static bool want_mapping(struct ld *ld, const yaml_node_t *n)
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
static const char *closest(const char *word, const char *const *names, size_t n)
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
        yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&ld->doc, p->value);
        size_t i;

        if (k->type != YAML_SCALAR_NODE) {
            ERR(ld, k, "expected a key name, got %s", node_kind(k));
            continue;
        }
        for (i = 0; i < nkeys; i++)
            if (strcmp(scalar(k), keys[i].name) == 0)
                break;
        if (i == nkeys) {
            const char *s = closest(scalar(k), names, nkeys);
            char list[256] = "";
            for (size_t j = 0; j < nkeys; j++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "",
                         names[j]);
            if (s)
                ERR(ld, k, "unknown key '%s' %s(did you mean '%s'?)", scalar(k), where, s);
            else
                ERR(ld, k, "unknown key '%s' %s(expected one of: %s)", scalar(k), where, list);
            continue;
        }
        if (*seen & (1u << i)) {
            ERR(ld, k, "duplicate key '%s'", scalar(k));
            continue;
        }
        *seen |= 1u << i;
        keys[i].fn(ld, v, obj);
    }
}

static yaml_node_t *find_key(struct ld *ld, yaml_node_t *map, const char *name)
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
static bool get_duration_ms(struct ld *ld, yaml_node_t *v, uint64_t *out)
{
    uint64_t us;
    int r;

    if (!want_scalar(ld, v, "a duration like 250ms, 2s or 1m"))
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
static bool get_uint(struct ld *ld, yaml_node_t *v, const char *what, uint64_t max, uint64_t *out)
{
    int r;

    if (!want_scalar(ld, v, what))
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

static bool get_bool(struct ld *ld, yaml_node_t *v, bool *out)
{
    if (!want_scalar(ld, v, "true or false"))
        return false;
    if (value_parse_bool(scalar(v), out) != 0) {
        ERR(ld, v, "expected true or false, got '%s'", scalar(v));
        return false;
    }
    return true;
}

/* One of `names` (an enum's spellings, index = value). */
static bool get_enum(struct ld *ld, yaml_node_t *v, const char *const *names, size_t n,
                     const int *values, int *out)
{
    char list[256] = "";

    if (!want_scalar(ld, v, "a name"))
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

#define GET_ENUM(ld, v, names, values, out)                                                        \
    get_enum((ld), (v), (names), sizeof(names) / sizeof(names[0]), (values), (out))

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
    get_bool(ld, v, &ld->cfg->log_timeline);
}

static const struct key log_keys[] = {
    {"format", k_log_format},
    {"level", k_log_level},
    {"timeline", k_log_timeline},
};

/* --- faults --- */

bool fault_same(const struct fault *a, const struct fault *b)
{
    struct fault x, y;

    /* the loader callocs faults, so their padding is zero and memcmp compares values */
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    x.name = y.name = NULL;
    x.pos = y.pos = (struct src_pos){0, 0};
    return strcmp(a->name, b->name) == 0 && memcmp(&x, &y, sizeof x) == 0;
}

bool proxy_cfg_same(const struct proxy_cfg *a, const struct proxy_cfg *b)
{
    if (strcmp(a->upstream_host, b->upstream_host) != 0 || a->upstream_port != b->upstream_port ||
        a->enabled != b->enabled || a->connect_timeout_ms != b->connect_timeout_ms ||
        a->idle_timeout_ms != b->idle_timeout_ms || a->nfaults != b->nfaults)
        return false;
    for (size_t i = 0; i < a->nfaults; i++)
        if (!fault_same(&a->faults[i], &b->faults[i]))
            return false;
    return true;
}

bool config_has_packet_faults(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->nproxies; i++)
        for (size_t j = 0; j < cfg->proxies[i].nfaults; j++)
            if (fault_type_is_packet(cfg->proxies[i].faults[j].type))
                return true;
    return false;
}

const char *duration_format(uint64_t ms, char *buf, size_t len)
{
    if (ms == DURATION_FOREVER)
        snprintf(buf, len, "forever");
    else if (ms >= 60000 && ms % 60000 == 0)
        snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
    else if (ms >= 1000 && ms % 1000 == 0)
        snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
    else
        snprintf(buf, len, "%llums", (unsigned long long)ms);
    return buf;
}

static void set_param(struct ld *ld, struct fault *f, const struct param *p, yaml_node_t *v)
{
    void *dst = (char *)f + p->offset;
    uint64_t u;
    int x, r;

    switch (p->type) {
    case P_DIRECTION: {
        static const char *const names[] = {"upstream", "downstream", "both"};
        static const int values[] = {FAULT_DIR_UPSTREAM, FAULT_DIR_DOWNSTREAM, FAULT_DIR_BOTH};
        if (GET_ENUM(ld, v, names, values, &x))
            *(enum fault_dir *)dst = (enum fault_dir)x;
        break;
    }
    case P_DELAY_FIN:
        if (v->type == YAML_SCALAR_NODE && strcmp(scalar(v), "forever") == 0) {
            *(uint64_t *)dst = DURATION_FOREVER;
            break;
        }
        r = v->type == YAML_SCALAR_NODE ? value_parse_duration_us(scalar(v), 1000, &u) : 0;
        if (r == -ERANGE) {
            ERR(ld, v,
                "duration '%s' is too large (at most " VALUE_DURATION_MAX_TEXT
                "; 'forever' never sends the FIN)",
                scalar(v));
            break;
        }
        if (r != 0) {
            ERR(ld, v, "expected a duration like 250ms, 2s or 1m, or 'forever', got '%s'",
                scalar(v));
            break;
        }
        /* fall through */
    case P_DURATION:
        get_duration_ms(ld, v, (uint64_t *)dst);
        break;
    case P_SLICER_US:
        if (!want_scalar(ld, v, "a duration in microseconds"))
            break;
        r = value_parse_duration_us(scalar(v), 1, (uint64_t *)dst);
        if (r == -ERANGE)
            ERR(ld, v, "duration '%s' is too large (at most " VALUE_DURATION_MAX_TEXT ")",
                scalar(v));
        else if (r != 0)
            ERR(ld, v, "expected microseconds (as Toxiproxy) or a duration like 50ms, got '%s'",
                scalar(v));
        break;
    case P_BYTES:
        get_uint(ld, v, "a number of bytes", VALUE_SIZE_MAX, (uint64_t *)dst);
        break;
    case P_RATE:
        if (get_uint(ld, v, "a positive number", VALUE_SIZE_MAX, &u)) {
            /* Toxiproxy's bandwidth 0 stalls the data (Testcontainers "cuts" a link so) */
            if (u == 0 && ld->toxiproxy_values && f->type == FAULT_BANDWIDTH)
                *(uint64_t *)dst = 0;
            else if (u == 0)
                ERR(ld, v, "expected a positive number, got '0'");
            else
                *(uint64_t *)dst = u;
        }
        break;
    case P_TO: {
        static const char *const names[] = {"client", "server", "both"};
        static const int values[] = {FAULT_TO_CLIENT, FAULT_TO_SERVER, FAULT_TO_BOTH};
        if (GET_ENUM(ld, v, names, values, &x))
            *(enum fault_to *)dst = (enum fault_to)x;
        break;
    }
    case P_MODE: {
        static const char *const names[] = {"reset", "close"};
        static const int values[] = {REFUSE_RESET, REFUSE_CLOSE};
        if (GET_ENUM(ld, v, names, values, &x))
            *(enum refuse_mode *)dst = (enum refuse_mode)x;
        break;
    }
    case P_LEG: {
        static const char *const names[] = {"client", "server"};
        static const int values[] = {FAULT_LEG_CLIENT, FAULT_LEG_SERVER};
        if (GET_ENUM(ld, v, names, values, &x))
            *(enum fault_leg *)dst = (enum fault_leg)x;
        break;
    }
    case P_FROM: {
        static const char *const names[] = {"finwait", "peer"};
        static const int values[] = {FAULT_FROM_FINWAIT, FAULT_FROM_PEER};
        if (GET_ENUM(ld, v, names, values, &x))
            *(enum fault_from *)dst = (enum fault_from)x;
        break;
    }
    case P_COUNT:
        if (v->type == YAML_SCALAR_NODE && strcmp(scalar(v), "all") == 0) {
            *(uint32_t *)dst = COUNT_ALL;
        } else if (get_uint(ld, v, "a count (1 or more) or 'all'", COUNT_ALL - 1, &u)) {
            if (u == 0)
                ERR(ld, v, "expected a count (1 or more) or 'all', got '%s'", scalar(v));
            else
                *(uint32_t *)dst = (uint32_t)u;
        }
        break;
    }
}

static const char *const common_keys[] = {"type",  "name",     "probability",
                                          "match", "toxicity", "connections"};

static void parse_probability(struct ld *ld, yaml_node_t *v, double *out)
{
    if (!want_scalar(ld, v, "a number between 0 and 1"))
        return;
    if (value_parse_probability(scalar(v), out) != 0)
        ERR(ld, v, "expected a number between 0 and 1, got '%s'", scalar(v));
}

static void parse_match(struct ld *ld, yaml_node_t *v, struct fault *f)
{
    yaml_node_pair_t *p;

    if (!want_mapping(ld, v))
        return;
    for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);
        yaml_node_t *val = yaml_document_get_node(&ld->doc, p->value);

        if (k->type != YAML_SCALAR_NODE || strcmp(scalar(k), "client") != 0) {
            ERR(ld, k, "unknown key '%s' in match (expected 'client')",
                k->type == YAML_SCALAR_NODE ? scalar(k) : "?");
            continue;
        }
        if (!want_scalar(ld, val, "a network like 10.0.0.0/8 or ::1/128"))
            continue;
        if (value_parse_cidr(scalar(val), &f->match_client) != 0) {
            ERR(ld, val, "invalid network '%s' (expected a CIDR like 10.0.0.0/8 or fd00::/8)",
                scalar(val));
            continue;
        }
        f->has_match = true;
    }
}

static bool parse_fault(struct ld *ld, yaml_node_t *n, struct fault *f)
{
    const char *type_names[FAULT_TYPE_COUNT];
    const struct type_spec *ts = NULL;
    yaml_node_t *tn;
    size_t errors = ld->errors;
    char list[512] = "";
    bool seen_dir = false, seen_stream = false;
    yaml_node_t *prob_node = NULL;

    memset(f, 0, sizeof *f);
    f->pos.line = (unsigned)n->start_mark.line + 1;
    f->pos.col = (unsigned)n->start_mark.column + 1;
    f->probability = 1.0;
    if (!want_mapping(ld, n))
        return false;
    for (int t = 0; t < FAULT_TYPE_COUNT; t++) {
        type_names[t] = fault_specs[t].name;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", t ? ", " : "",
                 fault_specs[t].name);
    }
    tn = find_key(ld, n, "type");
    if (!tn) {
        ERR(ld, n, "missing required key 'type' (valid types: %s)", list);
        return false;
    }
    if (!want_scalar(ld, tn, "a fault type"))
        return false;
    for (int t = 0; t < FAULT_TYPE_COUNT; t++)
        if (strcmp(scalar(tn), fault_specs[t].name) == 0) {
            f->type = (enum fault_type)t;
            ts = &fault_specs[t];
        }
    if (!ts) {
        const char *s = closest(scalar(tn), type_names, FAULT_TYPE_COUNT);
        if (s)
            ERR(ld, tn, "unknown fault type '%s' (did you mean '%s'?); valid types: %s", scalar(tn),
                s, list);
        else
            ERR(ld, tn, "unknown fault type '%s'; valid types: %s", scalar(tn), list);
        return false;
    }
    f->direction = ts->default_dir;
    f->to = FAULT_TO_BOTH;
    f->count = 1;

    uint32_t seen = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&ld->doc, p->value);
        const char *key;
        size_t i;

        if (k->type != YAML_SCALAR_NODE) {
            ERR(ld, k, "expected a key name, got %s", node_kind(k));
            continue;
        }
        key = scalar(k);
        if (strcmp(key, "type") == 0)
            continue;
        if (strcmp(key, "name") == 0) {
            if (want_scalar(ld, v, "a name") && !f->name)
                f->name = strdup(scalar(v));
            continue;
        }
        if (strcmp(key, "probability") == 0 || (ts->toxic && strcmp(key, "toxicity") == 0)) {
            if (prob_node) {
                ERR(ld, k, "'%s' given twice (toxicity is a synonym of probability)", key);
                continue;
            }
            prob_node = v;
            parse_probability(ld, v, &f->probability);
            continue;
        }
        if (strcmp(key, "match") == 0) {
            parse_match(ld, v, f);
            continue;
        }
        if (strcmp(key, "connections") == 0) {
            if (!want_scalar(ld, v, "'new' or 'all'"))
                continue;
            if (strcmp(scalar(v), "new") == 0 || strcmp(scalar(v), "all") == 0)
                f->new_only = strcmp(scalar(v), "new") == 0;
            else
                ERR(ld, v, "expected 'new' or 'all' for connections, got '%s'", scalar(v));
            continue;
        }
        for (i = 0; i < FAULT_PARAMS_MAX && ts->params[i].name; i++)
            if (strcmp(key, ts->params[i].name) == 0)
                break;
        if (i == FAULT_PARAMS_MAX || !ts->params[i].name) {
            const char *names[12];
            size_t nn = 0;
            char allowed[256] = "";
            for (size_t j = 0; j < sizeof common_keys / sizeof common_keys[0]; j++)
                if (ts->toxic || strcmp(common_keys[j], "toxicity") != 0)
                    names[nn++] = common_keys[j];
            for (size_t j = 0; j < FAULT_PARAMS_MAX && ts->params[j].name; j++) {
                names[nn++] = ts->params[j].name;
                snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s",
                         j ? ", " : "", ts->params[j].name);
            }
            const char *s = closest(key, names, nn);
            if (s)
                ERR(ld, k, "unknown key '%s' in fault '%s' (did you mean '%s'?)", key, ts->name, s);
            else
                ERR(ld, k, "parameter '%s' does not belong to fault type '%s' (allowed: %s%s)", key,
                    ts->name, allowed[0] ? allowed : "none",
                    ", name, probability, match, connections");
            continue;
        }
        if (seen & (1u << i)) {
            ERR(ld, k, "duplicate key '%s'", key);
            continue;
        }
        seen |= 1u << i;
        if (strcmp(key, "direction") == 0)
            seen_dir = true;
        if (strcmp(key, "stream") == 0)
            seen_stream = true;
        if (seen_dir && seen_stream) {
            ERR(ld, k, "give either 'stream' or 'direction', not both (they are synonyms)");
            continue;
        }
        if (strcmp(key, "after_bytes") == 0)
            f->has_after_bytes = true;
        set_param(ld, f, &ts->params[i], v);
    }
    for (size_t i = 0; i < FAULT_PARAMS_MAX && ts->params[i].name; i++)
        if (ts->params[i].required && !(seen & (1u << i)))
            ERR(ld, n, "missing required key '%s' for fault type '%s'", ts->params[i].name,
                ts->name);
    if ((f->type == FAULT_RESET || f->type == FAULT_CLOSE)) {
        yaml_node_t *a = find_key(ld, n, "after"), *b = find_key(ld, n, "after_bytes");
        if (a && b)
            ERR(ld, b, "give either 'after' or 'after_bytes', not both");
        else if (!a && !b)
            ERR(ld, n, "missing required key 'after' or 'after_bytes' for fault type '%s'",
                ts->name);
    }
    if (f->type == FAULT_SLICER && f->size_variation >= f->average_size && f->average_size &&
        !ld->toxiproxy_values) {
        yaml_node_t *sv = find_key(ld, n, "size_variation");
        ERR(ld, sv ? sv : n, "size_variation (%llu) must be smaller than average_size (%llu)",
            (unsigned long long)f->size_variation, (unsigned long long)f->average_size);
    }
    if (!f->name)
        f->name = strdup(ts->name);
    return ld->errors == errors;
}

/* The FIN-deciding faults: two of them on one direction would fight over the same FIN. */
static bool decides_fin(enum fault_type t)
{
    return t == FAULT_DELAY_FIN || t == FAULT_RST_INSTEAD_OF_FIN || t == FAULT_BREAK_HALF_CLOSE ||
           t == FAULT_SLOW_CLOSE;
}

static unsigned fault_dirs(const struct fault *f)
{
    if (f->type == FAULT_BREAK_HALF_CLOSE || f->type == FAULT_REFUSE ||
        fault_type_is_packet(f->type))
        return FAULT_DIR_BOTH;
    return f->direction;
}

/* Reject combinations with no sensible meaning, at the later fault. */
static void check_combinations(struct ld *ld, yaml_node_t *seq, struct proxy_cfg *p)
{
    for (size_t j = 1; j < p->nfaults; j++) {
        struct fault *b = &p->faults[j];
        yaml_mark_t m =
            yaml_document_get_node(&ld->doc, seq->data.sequence.items.start[j])->start_mark;
        for (size_t i = 0; i < j; i++) {
            struct fault *a = &p->faults[i];
            bool overlap = fault_dirs(a) & fault_dirs(b);

            if (a->type == FAULT_REFUSE || b->type == FAULT_REFUSE) {
                err_at(ld, m,
                       "'refuse' ends every connection at accept: it cannot be combined with "
                       "'%s' on proxy '%s'",
                       a->type == FAULT_REFUSE ? b->name : a->name, p->name);
                break;
            }
            if (fault_type_is_packet(a->type) && a->type == b->type && a->leg == b->leg) {
                err_at(ld, m, "two '%s' faults on the %s leg: keep one (use 'count')",
                       fault_type_name(b->type), a->leg == FAULT_LEG_CLIENT ? "client" : "server");
                break;
            }
            if (!overlap || fault_type_is_packet(a->type) || fault_type_is_packet(b->type))
                continue;
            /* Toxiproxy chains toxics: two of one type with their own names compose in order
             * (two latencies add up), unless both would decide one FIN */
            if (a->type == b->type && fault_type_is_toxic(a->type) && !decides_fin(a->type) &&
                strcmp(a->name, b->name) != 0)
                continue;
            if (a->type == b->type) {
                err_at(ld, m,
                       "two '%s' faults act on the same direction (%s): keep one, or give them "
                       "different directions",
                       fault_type_name(b->type), fault_dir_name(fault_dirs(a) & fault_dirs(b)));
                break;
            }
            if (decides_fin(a->type) && decides_fin(b->type)) {
                err_at(ld, m, "'%s' and '%s' both decide what happens to the %s FIN; keep one",
                       a->name, b->name, fault_dir_name(fault_dirs(a) & fault_dirs(b)));
                break;
            }
        }
    }
}

/* --- proxies --- */

static void k_px_name(struct ld *ld, yaml_node_t *v, void *obj)
{
    struct proxy_cfg *p = obj;

    if (!want_scalar(ld, v, "a proxy name"))
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

    if (!want_scalar(ld, v, "an address like 127.0.0.1:8080"))
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

    if (!want_scalar(ld, v, "an address like localhost:8080"))
        return;
    r = value_parse_hostport(scalar(v), 0, &p->upstream_host, &p->upstream_port);
    if (r != 0)
        addr_error(ld, v, r, false);
}

static void k_px_enabled(struct ld *ld, yaml_node_t *v, void *obj)
{
    get_bool(ld, v, &((struct proxy_cfg *)obj)->enabled);
}

static void k_px_connect_timeout(struct ld *ld, yaml_node_t *v, void *obj)
{
    struct proxy_cfg *p = obj;

    if (get_duration_ms(ld, v, &p->connect_timeout_ms) && p->connect_timeout_ms == 0)
        ERR(ld, v, "connect_timeout must be more than 0");
}

static void k_px_idle_timeout(struct ld *ld, yaml_node_t *v, void *obj)
{
    get_duration_ms(ld, v, &((struct proxy_cfg *)obj)->idle_timeout_ms);
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
        ERR(ld, v, "expected a list of faults, got %s", node_kind(v));
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
        parse_fault(ld, fn, &p->faults[i]);
        p->nfaults = i + 1; /* freed with the proxy even when invalid */
    }
    check_combinations(ld, v, p);
}

static const struct key proxy_keys[] = {
    {"name", k_px_name},
    {"listen", k_px_listen},
    {"upstream", k_px_upstream},
    {"enabled", k_px_enabled},
    {"connect_timeout", k_px_connect_timeout},
    {"idle_timeout", k_px_idle_timeout},
    {"faults", k_px_faults},
};

static void parse_proxy(struct ld *ld, yaml_node_t *n, struct proxy_cfg *p)
{
    uint32_t seen;
    static const char *const required[] = {"name", "listen", "upstream"};

    memset(p, 0, sizeof *p);
    p->enabled = true;
    p->connect_timeout_ms = 5000;
    p->pos.line = (unsigned)n->start_mark.line + 1;
    p->pos.col = (unsigned)n->start_mark.column + 1;
    if (!want_mapping(ld, n))
        return;
    walk(ld, n, proxy_keys, sizeof proxy_keys / sizeof proxy_keys[0], p, &seen, "in proxy ");
    for (size_t i = 0; i < 3; i++)
        if (!(seen & (1u << i)))
            ERR(ld, n, "missing required key '%s'", required[i]);
}

static void parse_proxies(struct ld *ld, yaml_node_t *v)
{
    struct config *cfg = ld->cfg;
    size_t n;

    if (v->type != YAML_SEQUENCE_NODE) {
        ERR(ld, v, "expected a list of proxies, got %s", node_kind(v));
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
                at = find_key(ld, pn, "name");
                ERR(ld, at, "duplicate proxy name '%s' (first defined at %u:%u)", p->name,
                    q->pos.line, q->pos.col);
            }
            if (p->listen_host && q->listen_host && p->enabled && q->enabled &&
                p->listen_port != 0 && p->listen_port == q->listen_port &&
                (strcmp(p->listen_host, q->listen_host) == 0 || !p->listen_host[0] ||
                 !q->listen_host[0])) {
                at = find_key(ld, pn, "listen");
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
    if (want_mapping(ld, v))
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
    get_duration_ms(ld, v, &ld->cfg->shutdown_timeout_ms);
}

static void k_seed(struct ld *ld, yaml_node_t *v, void *obj)
{
    (void)obj;
    if (get_uint(ld, v, "an unsigned integer", UINT64_MAX, &ld->cfg->seed))
        ld->cfg->has_seed = true;
}

static void k_admin_listen(struct ld *ld, yaml_node_t *v, void *obj)
{
    int r;

    (void)obj;
    if (!want_scalar(ld, v, "an address like 127.0.0.1:8474"))
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
        ERR(ld, v, "expected a list of host names, got %s", node_kind(v));
        return;
    }
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    cfg->admin_hosts = calloc(n ? n : 1, sizeof *cfg->admin_hosts);
    if (!cfg->admin_hosts)
        return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *h = yaml_document_get_node(&ld->doc, v->data.sequence.items.start[i]);
        if (!want_scalar(ld, h, "a host name"))
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
    if (!want_scalar(ld, v, "a token"))
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
    get_bool(ld, v, &ld->cfg->admin_insecure);
}

static void k_admin_max_connections(struct ld *ld, yaml_node_t *v, void *obj)
{
    uint64_t n;

    (void)obj;
    if (!get_uint(ld, v, "a number of connections", 1024, &n))
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
    if (get_duration_ms(ld, v, &ld->cfg->admin_request_timeout_ms) &&
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

/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: only this machine reaches the API there. */
static bool loopback_host(const char *host)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) != 1)
        return false;
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char one[16] = {[15] = 1};
    return memcmp(a, one, 16) == 0 || (memcmp(a, v4mapped, 12) == 0 && a[12] == 127);
}

static void k_admin(struct ld *ld, yaml_node_t *v, void *obj)
{
    uint32_t seen;

    (void)obj;
    if (!want_mapping(ld, v))
        return;
    walk(ld, v, admin_keys, sizeof admin_keys / sizeof admin_keys[0], NULL, &seen, "in admin ");
    if (!(seen & 1u))
        ERR(ld, v, "missing required key 'listen'");
    /* whoever reaches the port drives finwait: beyond this machine, only on purpose */
    if (ld->cfg->admin_host && !loopback_host(ld->cfg->admin_host) && !ld->cfg->admin_token &&
        !ld->cfg->admin_insecure)
        ERR(ld, find_key(ld, v, "listen"),
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
        err_at(ld, m, "empty configuration: expected a mapping with 'proxies'");
        return;
    }
    if (root->type == YAML_SEQUENCE_NODE) {
        /* a Toxiproxy config.json: an array of {name, listen, upstream, enabled} */
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

static void free_proxy(struct proxy_cfg *p)
{
    for (size_t j = 0; j < p->nfaults; j++)
        free(p->faults[j].name);
    free(p->faults);
    free(p->name);
    free(p->listen_host);
    free(p->upstream_host);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nproxies; i++)
        free_proxy(&cfg->proxies[i]);
    free(cfg->proxies);
    free(cfg->path);
    free(cfg->source);
    free(cfg->admin_host);
    for (size_t i = 0; i < cfg->admin_nhosts; i++)
        free(cfg->admin_hosts[i]);
    free(cfg->admin_hosts);
    free(cfg->admin_token);
    free(cfg);
}

int config_apply_overrides(struct config *cfg, const struct config_overrides *ov)
{
    if (!ov)
        return 0;
    if (ov->admin_host) {
        char *host = strdup(ov->admin_host);
        if (!host)
            return -1;
        free(cfg->admin_host);
        cfg->admin_host = host;
        cfg->admin_port = ov->admin_port;
    }
    if (ov->admin_insecure)
        cfg->admin_insecure = true;
    if (ov->has_seed) {
        cfg->has_seed = true;
        cfg->seed = ov->seed;
    }
    if (ov->has_log_level)
        cfg->log_level = ov->log_level;
    return 0;
}

int config_load_string(const char *name, const char *text, size_t len, struct config **out,
                       struct diag *d)
{
    return config_load_string_ex(name, text, len, NULL, 0, out, d);
}

int config_load_string_with(const char *name, const char *text, size_t len,
                            const struct config_overrides *ov, struct config **out, struct diag *d)
{
    return config_load_string_ex(name, text, len, ov, 0, out, d);
}

int config_load_string_ex(const char *name, const char *text, size_t len,
                          const struct config_overrides *ov, unsigned flags, struct config **out,
                          struct diag *d)
{
    struct ld ld = {.file = name,
                    .text = text,
                    .len = len,
                    .d = d,
                    .admin_cmdline = ov && ov->admin_host,
                    .toxiproxy_values = flags & CONFIG_TOXIPROXY_VALUES};
    yaml_parser_t parser;
    int rc = -1;

    *out = NULL;
    ld.cfg = calloc(1, sizeof *ld.cfg);
    if (!ld.cfg) {
        diag_add(d, name, 0, 0, NULL, "out of memory");
        return -1;
    }
    ld.cfg->path = strdup(name);
    ld.cfg->log_format = LOG_FORMAT_TEXT;
    ld.cfg->log_level = LOG_LEVEL_INFO;
    ld.cfg->shutdown_timeout_ms = 5000;
    ld.cfg->admin_max_connections = 16;
    ld.cfg->admin_request_timeout_ms = 10000;

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
            err_at(&ld, ctx, "YAML syntax error: %s at %zu:%zu, %s that starts here", problem,
                   at.line + 1, at.column + 1, parser.context);
        else
            err_at(&ld, at, "YAML syntax error: %s%s%s", problem, parser.context ? " " : "",
                   parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        config_free(ld.cfg);
        return -1;
    }
    parse_root(&ld, yaml_document_get_root_node(&ld.doc));
    yaml_document_delete(&ld.doc);
    yaml_parser_delete(&parser);
    if (ld.errors == 0 && config_apply_overrides(ld.cfg, ov) == 0 &&
        (ld.cfg->source = malloc(len + 1)) != NULL) {
        memcpy(ld.cfg->source, text, len);
        ld.cfg->source[len] = '\0';
        ld.cfg->source_len = len;
        *out = ld.cfg;
        rc = 0;
    } else {
        if (ld.errors == 0)
            diag_add(d, name, 0, 0, NULL, "out of memory");
        config_free(ld.cfg);
    }
    return rc;
}

int config_load_file(const char *path, struct config **out, struct diag *d)
{
    return config_load_file_with(path, NULL, out, d);
}

int config_read_file(const char *path, char **text, size_t *len, struct diag *d)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    char *buf = NULL;
    size_t n = 0, cap = 0;

    *text = NULL;
    *len = 0;
    if (!fp) {
        if (d)
            diag_add(d, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
        return -1;
    }
    /* fopen opens a directory on Linux and reads nothing from it: not an empty file */
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        if (d)
            diag_add(d, path, 0, 0, NULL, "is a directory, not a configuration file");
        fclose(fp);
        return -1;
    }
    for (;;) {
        if (n + 4096 > cap) {
            char *t;
            cap = cap ? cap * 2 : 8192;
            t = realloc(buf, cap);
            if (!t) {
                free(buf);
                fclose(fp);
                if (d)
                    diag_add(d, path, 0, 0, NULL, "out of memory");
                return -1;
            }
            buf = t;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        if (d)
            diag_add(d, path, 0, 0, NULL, "cannot read: %s", strerror(errno));
        free(buf);
        fclose(fp);
        return -1;
    }
    fclose(fp);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int config_load_file_with(const char *path, const struct config_overrides *ov, struct config **out,
                          struct diag *d)
{
    char *text;
    size_t len;
    int rc;

    *out = NULL;
    if (config_read_file(path, &text, &len, d) != 0)
        return -1;
    rc = config_load_string_with(path, text, len, ov, out, d);
    free(text);
    return rc;
}
