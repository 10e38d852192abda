/*
 * What the YAML walk (rules/config_yaml.c) and the reading of a fault's mapping
 * (rules/config_fault.c) share: the loader's state, error reporting at a node, and the readers
 * of a node's value that report what was expected. Private to rules/.
 */
#ifndef FINWAIT_RULES_CONFIG_YAML_H
#define FINWAIT_RULES_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "rules/config.h"

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
    bool toxiproxy_list;        /* the root is a Toxiproxy config.json (a list of proxies) */
};

/*
 * Fill `cfg` (its defaults already set) from the YAML `text`. Returns the number of errors
 * found (each in `d`, FILE:LINE:COL with the source line); 0 means cfg is valid.
 */
size_t config__load_yaml(struct config *cfg, const char *name, const char *text, size_t len,
                         bool admin_cmdline, bool toxiproxy_values, struct diag *d);

/* An error at mark `m`, counted in ld->errors. */
void config__err_at(struct ld *ld, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ERR(ld, node, ...) config__err_at((ld), (node)->start_mark, __VA_ARGS__)

static inline const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* "a mapping", "a list", "a value": for "expected X, got Y" */
const char *config__node_kind(const yaml_node_t *n);
/* True if n is a scalar; else an error saying `what` was expected. */
bool config__want_scalar(struct ld *ld, const yaml_node_t *n, const char *what);
bool config__want_mapping(struct ld *ld, const yaml_node_t *n);
/* The closest of `names` to `word` if it is close enough to be a typo, else NULL. */
const char *config__closest(const char *word, const char *const *names, size_t n);
/* The value of key `name` in mapping `map`, or NULL. */
/* The index of key node k among names[0..n), or -1 once it said what is wrong: not a name, an
 * unknown key (the closest name, or the list; `where` such as "in verdicts " names the
 * mapping), a duplicate (*seen has a bit per name). */
int config__key_index(struct ld *ld, yaml_node_t *k, const char *const *names, size_t n,
                      uint32_t *seen, const char *where);
yaml_node_t *config__find_key(struct ld *ld, yaml_node_t *map, const char *name);

/* The readers of a node's value: true and *out set, or false after an error at the node. */
bool config__get_duration_ms(struct ld *ld, yaml_node_t *v, uint64_t *out);
bool config__get_uint(struct ld *ld, yaml_node_t *v, const char *what, uint64_t max, uint64_t *out);
bool config__get_bool(struct ld *ld, yaml_node_t *v, bool *out);
bool config__get_enum(struct ld *ld, yaml_node_t *v, const char *const *names, size_t n,
                      const int *values, int *out);

#define GET_ENUM(ld, v, names, values, out)                                                        \
    config__get_enum((ld), (v), (names), sizeof(names) / sizeof(names[0]), (values), (out))

/* A fault's mapping into *f (rules/config_fault.c); false if it had errors. */
bool config__parse_fault(struct ld *ld, yaml_node_t *n, struct fault *f);
/* A proxy's `verdicts:` mapping into *vc (rules/config_verdicts.c), which holds the defaults. */
struct verdict_cfg;
void config__parse_verdicts(struct ld *ld, yaml_node_t *map, struct verdict_cfg *vc);
/* Errors for the combinations of p's faults that have no sensible meaning. */
void config__check_combinations(struct ld *ld, yaml_node_t *seq, struct proxy_cfg *p);

/* A proxy's `intercept:` mapping into p->intercept (rules/config_intercept.c). */
void config__parse_intercept(struct ld *ld, yaml_node_t *v, struct proxy_cfg *p);
/* Errors for an `intercept:` that does not fit the rest of proxy node `proxy` (its listen
 * address), once the whole mapping has been read. */
void config__check_intercept(struct ld *ld, yaml_node_t *proxy, const struct proxy_cfg *p);

#endif
