/*
 * A proxy's `intercept:` mapping: which outbound connections its listener takes without being
 * addressed (the destination ports and networks, optionally a uid or a cgroup), and how they
 * reach it (REDIRECT or TPROXY). The rules themselves are written by
 * proxy/faults/intercept_rules.c from this model.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/config_yaml.h"
#include "rules/value.h"

/* "5432" or "8000-8100" into *out. */
static int parse_port_range(const char *s, struct port_range *out)
{
    const char *dash = strchr(s, '-');
    char first[8];
    uint64_t a, b;
    size_t n = dash ? (size_t)(dash - s) : strlen(s);

    if (n == 0 || n >= sizeof first)
        return -EINVAL;
    memcpy(first, s, n);
    first[n] = '\0';
    if (value_parse_uint(first, 65535, &a) != 0)
        return -EINVAL;
    b = a;
    if (dash && value_parse_uint(dash + 1, 65535, &b) != 0)
        return -EINVAL;
    if (a == 0 || b < a)
        return -ERANGE;
    out->first = (uint16_t)a;
    out->last = (uint16_t)b;
    return 0;
}

static void add_port(struct ld *ld, yaml_node_t *v, struct intercept_cfg *ic)
{
    struct port_range r;
    int e;

    if (!config__want_scalar(ld, v, "a port like 5432 or a range like 8000-8100"))
        return;
    e = parse_port_range(scalar(v), &r);
    if (e == -ERANGE) {
        ERR(ld, v, "invalid port range '%s' (expected 1..65535, the first not above the last)",
            scalar(v));
        return;
    }
    if (e != 0) {
        ERR(ld, v, "expected a port like 5432 or a range like 8000-8100, got '%s'", scalar(v));
        return;
    }
    if (ic->nports == INTERCEPT_MAX_PORTS) {
        ERR(ld, v, "too many ports: at most %d ports or ranges per proxy", INTERCEPT_MAX_PORTS);
        return;
    }
    ic->ports[ic->nports++] = r;
}

static void add_net(struct ld *ld, yaml_node_t *v, struct intercept_cfg *ic)
{
    struct cidr c;

    if (!config__want_scalar(ld, v, "a network like 10.0.0.0/8 or fd00::/8"))
        return;
    if (value_parse_cidr(scalar(v), &c) != 0) {
        ERR(ld, v, "invalid network '%s' (expected a CIDR like 10.0.0.0/8 or fd00::/8)", scalar(v));
        return;
    }
    if (ic->nnets == INTERCEPT_MAX_NETS) {
        ERR(ld, v, "too many destinations: at most %d networks per proxy", INTERCEPT_MAX_NETS);
        return;
    }
    ic->nets[ic->nnets++] = c;
}

/* A value or a list of values, each given to `add`. */
static void each(struct ld *ld, yaml_node_t *v, struct intercept_cfg *ic,
                 void (*add)(struct ld *, yaml_node_t *, struct intercept_cfg *))
{
    if (v->type != YAML_SEQUENCE_NODE) {
        add(ld, v, ic);
        return;
    }
    if (v->data.sequence.items.top == v->data.sequence.items.start)
        ERR(ld, v, "expected at least one value, got an empty list");
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++)
        add(ld, yaml_document_get_node(&ld->doc, *i), ic);
}

static const char *const intercept_keys[] = {"ports", "destinations", "uid", "cgroup", "mode"};

/* The address families the listen address receives: 4, 6 or both (4|6 as bits 1, 2). */
static unsigned listen_families(const char *host)
{
    unsigned char a[16];

    if (host[0] == '\0' || strcmp(host, "::") == 0)
        return 3;
    if (inet_pton(AF_INET, host, a) == 1)
        return 1;
    if (inet_pton(AF_INET6, host, a) == 1)
        return 2;
    return 3; /* a name: its addresses are known at start only */
}

void config__check_intercept(struct ld *ld, yaml_node_t *proxy, const struct proxy_cfg *p)
{
    const struct intercept_cfg *ic = &p->intercept;
    unsigned fam = p->listen_host ? listen_families(p->listen_host) : 3;
    yaml_node_t *v = config__find_key(ld, proxy, "intercept"), *uid, *cg;

    if (!ic->on || !v)
        return;
    uid = config__find_key(ld, v, "uid");
    cg = config__find_key(ld, v, "cgroup");
    if (ic->nports == 0 && !config__find_key(ld, v, "ports"))
        ERR(ld, v,
            "missing required key 'ports' in intercept (the destination ports to take, "
            "e.g. ports: [5432])");
    if (ic->mode == INTERCEPT_TPROXY && p->listen_host && p->listen_host[0] &&
        strcmp(p->listen_host, "::") != 0 && strcmp(p->listen_host, "0.0.0.0") != 0)
        ERR(ld, config__find_key(ld, proxy, "listen"),
            "mode: tproxy hands the listener connections addressed to other hosts: listen on all "
            "interfaces (:PORT or 0.0.0.0:PORT), not %s",
            p->listen_host);
    if (ic->mode == INTERCEPT_TPROXY && (uid || cg))
        ERR(ld, uid ? uid : cg,
            "'%s' selects connections made in finwait's namespace (mode: redirect); mode: tproxy "
            "takes connections routed through it, whose owner is not known here",
            uid ? "uid" : "cgroup");
    for (size_t i = 0; i < ic->nnets; i++) {
        unsigned want = ic->nets[i].family == AF_INET ? 1 : 2;
        if (!(fam & want)) {
            yaml_node_t *at = config__find_key(ld, v, "destinations");
            ERR(ld, at ? at : v,
                "destination %s is IPv%c but the proxy listens on %s only: listen on :PORT to "
                "take both families",
                inet_ntop(ic->nets[i].family, ic->nets[i].addr, (char[64]){0}, 64),
                want == 1 ? '4' : '6', p->listen_host);
        }
    }
}

void config__parse_intercept(struct ld *ld, yaml_node_t *v, struct proxy_cfg *p)
{
    static const char *const mode_names[] = {"redirect", "tproxy"};
    static const int mode_values[] = {INTERCEPT_REDIRECT, INTERCEPT_TPROXY};
    struct intercept_cfg *ic = &p->intercept;
    uint32_t seen = 0;

    if (!config__want_mapping(ld, v))
        return;
    ic->on = true;
    for (yaml_node_pair_t *kv = v->data.mapping.pairs.start; kv < v->data.mapping.pairs.top; kv++) {
        yaml_node_t *k = yaml_document_get_node(&ld->doc, kv->key);
        yaml_node_t *val = yaml_document_get_node(&ld->doc, kv->value);
        size_t i, n = sizeof intercept_keys / sizeof intercept_keys[0];
        uint64_t u;
        int m;

        if (!config__want_scalar(ld, k, "a key name"))
            continue;
        for (i = 0; i < n && strcmp(scalar(k), intercept_keys[i]) != 0; i++)
            ;
        if (i == n) {
            const char *s = config__closest(scalar(k), intercept_keys, n);
            if (s)
                ERR(ld, k, "unknown key '%s' in intercept (did you mean '%s'?)", scalar(k), s);
            else
                ERR(ld, k,
                    "unknown key '%s' in intercept (expected one of: ports, destinations, uid, "
                    "cgroup, mode)",
                    scalar(k));
            continue;
        }
        if (seen & (1u << i)) {
            ERR(ld, k, "duplicate key '%s'", scalar(k));
            continue;
        }
        seen |= 1u << i;
        switch (i) {
        case 0:
            each(ld, val, ic, add_port);
            break;
        case 1:
            each(ld, val, ic, add_net);
            break;
        case 2:
            if (config__get_uint(ld, val, "a numeric uid", UINT32_MAX - 1, &u)) {
                ic->has_uid = true;
                ic->uid = (uint32_t)u;
            }
            break;
        case 3:
            if (!config__want_scalar(ld, val, "a cgroup path like /system.slice/app.service"))
                break;
            if (scalar(val)[0] != '/' || strlen(scalar(val)) >= sizeof ic->cgroup ||
                strpbrk(scalar(val), " \t\n\"'"))
                ERR(ld, val,
                    "invalid cgroup '%s' (expected a cgroup v2 path starting with '/', without "
                    "spaces or quotes, shorter than %zu characters)",
                    scalar(val), sizeof ic->cgroup);
            else
                snprintf(ic->cgroup, sizeof ic->cgroup, "%s", scalar(val));
            break;
        case 4:
            if (GET_ENUM(ld, val, mode_names, mode_values, &m))
                ic->mode = (enum intercept_mode)m;
            break;
        }
    }
}
