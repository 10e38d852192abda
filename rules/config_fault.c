/*
 * A fault's mapping in the YAML: its type, the keys every fault takes (name, probability,
 * match, connections, for), and its type's parameters as rules/fault_spec.c lists them; then the
 * combinations of faults on one proxy that have no sensible meaning.
 */
#include "rules/config_yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/fault_spec.h"
#include "rules/value.h"

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
        config__get_duration_ms(ld, v, (uint64_t *)dst);
        break;
    case P_SLICER_US:
        if (!config__want_scalar(ld, v, "a duration in microseconds"))
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
        config__get_uint(ld, v, "a number of bytes", VALUE_SIZE_MAX, (uint64_t *)dst);
        break;
    case P_RATE:
        if (config__get_uint(ld, v, "a positive number", VALUE_SIZE_MAX, &u)) {
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
        } else if (config__get_uint(ld, v, "a count (1 or more) or 'all'", COUNT_ALL - 1, &u)) {
            if (u == 0)
                ERR(ld, v, "expected a count (1 or more) or 'all', got '%s'", scalar(v));
            else
                *(uint32_t *)dst = (uint32_t)u;
        }
        break;
    }
}

static const char *const common_keys[] = {"type",     "name",        "probability", "match",
                                          "toxicity", "connections", "for"};

static void parse_probability(struct ld *ld, yaml_node_t *v, double *out)
{
    if (!config__want_scalar(ld, v, "a number between 0 and 1"))
        return;
    if (value_parse_probability(scalar(v), out) != 0)
        ERR(ld, v, "expected a number between 0 and 1, got '%s'", scalar(v));
}

static void parse_match(struct ld *ld, yaml_node_t *v, struct fault *f)
{
    yaml_node_pair_t *p;

    if (!config__want_mapping(ld, v))
        return;
    for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);
        yaml_node_t *val = yaml_document_get_node(&ld->doc, p->value);

        bool dest;

        if (k->type != YAML_SCALAR_NODE ||
            (strcmp(scalar(k), "client") != 0 && strcmp(scalar(k), "destination") != 0)) {
            ERR(ld, k, "unknown key '%s' in match (expected 'client' or 'destination')",
                k->type == YAML_SCALAR_NODE ? scalar(k) : "?");
            continue;
        }
        dest = strcmp(scalar(k), "destination") == 0;
        if (!config__want_scalar(ld, val, "a network like 10.0.0.0/8 or ::1/128"))
            continue;
        if (value_parse_cidr(scalar(val), dest ? &f->match_dest : &f->match_client) != 0) {
            ERR(ld, val, "invalid network '%s' (expected a CIDR like 10.0.0.0/8 or fd00::/8)",
                scalar(val));
            continue;
        }
        if (dest)
            f->has_match_dest = true;
        else
            f->has_match = true;
    }
}

bool config__parse_fault(struct ld *ld, yaml_node_t *n, struct fault *f)
{
    const char *type_names[FAULT_TYPE_COUNT];
    const struct type_spec *ts = NULL;
    yaml_node_t *tn;
    size_t errors = ld->errors;
    char list[512] = "";
    bool seen_dir = false, seen_stream = false, seen_for = false;
    yaml_node_t *prob_node = NULL;

    memset(f, 0, sizeof *f);
    f->pos.line = (unsigned)n->start_mark.line + 1;
    f->pos.col = (unsigned)n->start_mark.column + 1;
    f->probability = 1.0;
    if (!config__want_mapping(ld, n))
        return false;
    for (int t = 0; t < FAULT_TYPE_COUNT; t++) {
        type_names[t] = fault_specs[t].name;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", t ? ", " : "",
                 fault_specs[t].name);
    }
    tn = config__find_key(ld, n, "type");
    if (!tn) {
        ERR(ld, n, "missing required key 'type' (valid types: %s)", list);
        return false;
    }
    if (!config__want_scalar(ld, tn, "a fault type"))
        return false;
    for (int t = 0; t < FAULT_TYPE_COUNT; t++)
        if (strcmp(scalar(tn), fault_specs[t].name) == 0) {
            f->type = (enum fault_type)t;
            ts = &fault_specs[t];
        }
    if (!ts) {
        const char *s = config__closest(scalar(tn), type_names, FAULT_TYPE_COUNT);
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
            ERR(ld, k, "expected a key name, got %s", config__node_kind(k));
            continue;
        }
        key = scalar(k);
        if (strcmp(key, "type") == 0)
            continue;
        if (strcmp(key, "name") == 0) {
            if (config__want_scalar(ld, v, "a name") && !f->name)
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
        if (strcmp(key, "for") == 0) {
            if (seen_for) {
                ERR(ld, k, "duplicate key 'for'");
                continue;
            }
            seen_for = true;
            /* a time box: 0 would detach it as it attaches, which is no fault at all */
            if (config__get_duration_ms(ld, v, &f->for_ms) && f->for_ms == 0)
                ERR(ld, v, "'for' must be more than 0 (leave it out for a fault that stays)");
            continue;
        }
        if (strcmp(key, "connections") == 0) {
            if (!config__want_scalar(ld, v, "'new' or 'all'"))
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
            const char *names[16];
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
            const char *s = config__closest(key, names, nn);
            if (s)
                ERR(ld, k, "unknown key '%s' in fault '%s' (did you mean '%s'?)", key, ts->name, s);
            else
                ERR(ld, k, "parameter '%s' does not belong to fault type '%s' (allowed: %s%s)", key,
                    ts->name, allowed[0] ? allowed : "none",
                    ", name, probability, match, connections, for");
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
        yaml_node_t *a = config__find_key(ld, n, "after"),
                    *b = config__find_key(ld, n, "after_bytes");
        if (a && b)
            ERR(ld, b, "give either 'after' or 'after_bytes', not both");
        else if (!a && !b)
            ERR(ld, n, "missing required key 'after' or 'after_bytes' for fault type '%s'",
                ts->name);
    }
    if (f->type == FAULT_SLICER && f->size_variation >= f->average_size && f->average_size &&
        !ld->toxiproxy_values) {
        yaml_node_t *sv = config__find_key(ld, n, "size_variation");
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
void config__check_combinations(struct ld *ld, yaml_node_t *seq, struct proxy_cfg *p)
{
    for (size_t j = 1; j < p->nfaults; j++) {
        struct fault *b = &p->faults[j];
        yaml_mark_t m =
            yaml_document_get_node(&ld->doc, seq->data.sequence.items.start[j])->start_mark;
        for (size_t i = 0; i < j; i++) {
            struct fault *a = &p->faults[i];
            bool overlap = fault_dirs(a) & fault_dirs(b);

            if (a->type == FAULT_REFUSE || b->type == FAULT_REFUSE) {
                config__err_at(
                    ld, m,
                    "'refuse' ends every connection at accept: it cannot be combined with "
                    "'%s' on proxy '%s'",
                    a->type == FAULT_REFUSE ? b->name : a->name, p->name);
                break;
            }
            if (fault_type_is_packet(a->type) && a->type == b->type && a->leg == b->leg) {
                config__err_at(ld, m, "two '%s' faults on the %s leg: keep one (use 'count')",
                               fault_type_name(b->type),
                               a->leg == FAULT_LEG_CLIENT ? "client" : "server");
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
                config__err_at(
                    ld, m,
                    "two '%s' faults act on the same direction (%s): keep one, or give them "
                    "different directions",
                    fault_type_name(b->type), fault_dir_name(fault_dirs(a) & fault_dirs(b)));
                break;
            }
            if (decides_fin(a->type) && decides_fin(b->type)) {
                config__err_at(ld, m,
                               "'%s' and '%s' both decide what happens to the %s FIN; keep one",
                               a->name, b->name, fault_dir_name(fault_dirs(a) & fault_dirs(b)));
                break;
            }
        }
    }
}
