/*
 * Transparent interception's rules: what `intercept:` says, written as iptables rules in
 * finwait's own chains (one nat chain for REDIRECT, one mangle chain for TPROXY, per family),
 * replaced whole in one iptables-restore batch per family whenever the configuration changes.
 * Established connections are not touched by a change: REDIRECT and TPROXY act on a
 * connection's first packet, and conntrack or the socket lookup carries the rest.
 */
#include "proxy/faults/intercept_rules.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "proxy/faults/iptables.h"
#include "proxy/faults/policy_route.h"
#include "proxy/log.h"

#define SCRIPT_MAX 65536

struct intercept_rules {
    char nat[32]; /* FINWAIT-<pid>-NAT, jumped to from nat OUTPUT */
    char tpx[32]; /* FINWAIT-<pid>-TPX, jumped to from mangle PREROUTING */
    bool v6;      /* the IPv6 chains exist (ip6tables works here) */
    bool route;   /* the TPROXY policy routes are installed */
};

static const char grant[] = IPTABLES_GRANT;

/* A tool's output on one line, for a one-line error. */
static void one_line(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    for (char *p = s; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

/* Append to the script; false once it is full. */
static bool put(char *buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool put(char *buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int r;

    if (*len >= SCRIPT_MAX)
        return false;
    va_start(ap, fmt);
    r = vsnprintf(buf + *len, SCRIPT_MAX - *len, fmt, ap);
    va_end(ap);
    if (r < 0 || (size_t)r >= SCRIPT_MAX - *len) {
        *len = SCRIPT_MAX;
        return false;
    }
    *len += (size_t)r;
    return true;
}

/* The `-d NET` of net i of ic for family `fam`, or "" for every destination; false if the
 * target has networks but none at i of this family. */
static bool dest_opt(const struct intercept_cfg *ic, size_t i, int fam, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN];

    if (ic->nnets == 0) {
        buf[0] = '\0';
        return true;
    }
    if (ic->nets[i].family != fam)
        return false;
    inet_ntop(fam, ic->nets[i].addr, a, sizeof a);
    snprintf(buf, len, " -d %s/%u", a, ic->nets[i].prefixlen);
    return true;
}

/* Rules of every target of mode `mode` for family `fam` in chain `chain`. */
static bool put_targets(char *s, size_t *len, const char *chain, int fam, enum intercept_mode mode,
                        const struct intercept_target *t, size_t n)
{
    bool ok = true;

    for (size_t k = 0; k < n; k++) {
        const struct intercept_cfg *ic = t[k].ic;
        size_t nn = ic->nnets ? ic->nnets : 1;

        if (ic->mode != mode || !(t[k].families & (fam == AF_INET ? INTERCEPT_V4 : INTERCEPT_V6)))
            continue;
        for (size_t i = 0; i < nn; i++) {
            char dest[80], owner[300] = "";
            if (!dest_opt(ic, i, fam, dest, sizeof dest))
                continue;
            if (ic->has_uid)
                snprintf(owner, sizeof owner, " -m owner --uid-owner %u", ic->uid);
            if (ic->cgroup[0])
                snprintf(owner + strlen(owner), sizeof owner - strlen(owner),
                         " -m cgroup --path %s", ic->cgroup);
            for (size_t j = 0; j < ic->nports; j++) {
                char ports[16];
                if (ic->ports[j].first == ic->ports[j].last)
                    snprintf(ports, sizeof ports, "%u", ic->ports[j].first);
                else
                    snprintf(ports, sizeof ports, "%u:%u", ic->ports[j].first, ic->ports[j].last);
                if (mode == INTERCEPT_REDIRECT)
                    ok = put(s, len,
                             "-A %s -p tcp%s --dport %s%s -m comment --comment \"finwait %s\" "
                             "-j REDIRECT --to-ports %u\n",
                             chain, dest, ports, owner, t[k].proxy, t[k].port);
                else
                    ok = put(s, len,
                             "-A %s -p tcp%s --dport %s -m comment --comment \"finwait %s\" "
                             "-j TPROXY --on-port %u --tproxy-mark 0x%x/0xffffffff\n",
                             chain, dest, ports, t[k].proxy, t[k].port, INTERCEPT_TPROXY_MARK);
            }
        }
    }
    return ok;
}

static bool any_mode(const struct intercept_target *t, size_t n, enum intercept_mode mode)
{
    for (size_t k = 0; k < n; k++)
        if (t[k].ic->mode == mode)
            return true;
    return false;
}

static bool any_cgroup(const struct intercept_target *t, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (t[k].ic->cgroup[0])
            return true;
    return false;
}

/* True if some target names a network of family `fam` explicitly. */
static bool wants_family(const struct intercept_target *t, size_t n, int fam)
{
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < t[k].ic->nnets; i++)
            if (t[k].ic->nets[i].family == fam)
                return true;
    return false;
}

/* The whole batch for one family: both chains declared (created, or emptied if they exist),
 * the jumps to them when `create`, then the targets' rules. */
static bool make_script(const struct intercept_rules *ir, int fam, bool create,
                        const struct intercept_target *t, size_t n, char *s)
{
    size_t len = 0;
    bool tproxy = any_mode(t, n, INTERCEPT_TPROXY);
    bool ok;

    ok = put(s, &len, "*nat\n:%s - [0:0]\n", ir->nat);
    if (create)
        ok = ok && put(s, &len, "-I OUTPUT 1 -j %s\n", ir->nat);
    /* finwait's own connections (its upstream legs) are never taken back to it */
    ok = ok && put(s, &len, "-A %s -m mark --mark 0x%x/0x%x -j RETURN\n", ir->nat,
                   INTERCEPT_MARK & INTERCEPT_MARK_MASK, INTERCEPT_MARK_MASK);
    ok = ok && put_targets(s, &len, ir->nat, fam, INTERCEPT_REDIRECT, t, n);
    ok = ok && put(s, &len, "COMMIT\n*mangle\n:%s - [0:0]\n", ir->tpx);
    if (create)
        ok = ok && put(s, &len, "-I PREROUTING 1 -j %s\n", ir->tpx);
    if (tproxy) {
        /* packets of a connection a transparent socket of finwait's already holds (its
         * accepted clients, and the servers' answers to its upstream legs that speak with the
         * clients' addresses) are routed to it by the same mark */
        ok = ok && put(s, &len, "-A %s -p tcp -m socket --transparent -j MARK --set-mark 0x%x\n",
                       ir->tpx, INTERCEPT_TPROXY_MARK);
        ok = ok &&
             put(s, &len, "-A %s -m mark --mark 0x%x -j RETURN\n", ir->tpx, INTERCEPT_TPROXY_MARK);
        ok = ok && put_targets(s, &len, ir->tpx, fam, INTERCEPT_TPROXY, t, n);
    }
    return ok && put(s, &len, "COMMIT\n");
}

/* The policy routes that deliver TPROXY's marked packets locally: add (`add`; 0 or a negative
 * errno with the reason in out) or delete (how many rules were removed). */
static int tproxy_route(bool v6, bool add, char *out, size_t outlen)
{
    if (!add)
        return policy_route_del(v6, INTERCEPT_TPROXY_MARK, INTERCEPT_TPROXY_TABLE);
    return policy_route_add(v6, INTERCEPT_TPROXY_MARK, INTERCEPT_TPROXY_TABLE, out, outlen);
}

/* What the kernel may lack when a batch fails, for the error. */
static const char *kernel_hint(const struct intercept_target *t, size_t n)
{
    bool tp = any_mode(t, n, INTERCEPT_TPROXY), rd = any_mode(t, n, INTERCEPT_REDIRECT);

    if (tp && rd)
        return "REDIRECT, TPROXY and the socket match (modprobe xt_REDIRECT xt_TPROXY xt_socket)";
    if (tp)
        return "TPROXY and the socket match (modprobe xt_TPROXY xt_socket)";
    return "REDIRECT (modprobe xt_REDIRECT)";
}

static int apply_family(struct intercept_rules *ir, bool v6, bool create,
                        const struct intercept_target *t, size_t n, char *err, size_t errlen)
{
    static char script[SCRIPT_MAX];
    const char *tool = v6 ? "ip6tables-restore" : "iptables-restore";
    char out[1024];

    if (!make_script(ir, v6 ? AF_INET6 : AF_INET, create, t, n, script)) {
        snprintf(err, errlen, "too many interception rules for one %s batch", tool);
        return UV_E2BIG;
    }
    if (iptables_restore(tool, script, out, sizeof out) != 0) {
        one_line(out);
        snprintf(err, errlen,
                 "%s could not install the interception rules: %s (does the kernel have %s%s?%s)",
                 tool, out, kernel_hint(t, n), v6 ? " for IPv6" : "",
                 any_cgroup(t, n) ? " does the cgroup exist, under /sys/fs/cgroup?" : "");
        return UV_EIO;
    }
    return 0;
}

static void remove_chains(const struct intercept_rules *ir, bool v6)
{
    char script[512];
    const char *cmd[] = {v6 ? "ip6tables-restore" : "iptables-restore", "-w", "-n", NULL};

    snprintf(script, sizeof script,
             "*nat\n-D OUTPUT -j %s\n-F %s\n-X %s\nCOMMIT\n"
             "*mangle\n-D PREROUTING -j %s\n-F %s\n-X %s\nCOMMIT\n",
             ir->nat, ir->nat, ir->nat, ir->tpx, ir->tpx, ir->tpx);
    iptables_run(cmd, script, NULL, 0);
}

/* First use: check what is needed, reap what dead finwait processes left, make the chains. */
static int create(struct intercept_rules **out, const struct intercept_target *t, size_t n,
                  char *err, size_t errlen)
{
    struct intercept_rules *ir;
    char e6[512];
    int r;

    if (!iptables_have_cap_net_admin()) {
        snprintf(err, errlen,
                 "transparent interception (proxy '%s') needs CAP_NET_ADMIN to write its "
                 "iptables rules: %s",
                 t[0].proxy, grant);
        return UV_EPERM;
    }
    if (!iptables_have_tool("iptables-restore") || !iptables_have_tool("iptables-save")) {
        snprintf(err, errlen,
                 "transparent interception (proxy '%s') needs the iptables tools "
                 "(iptables-restore, iptables-save): apt-get install iptables",
                 t[0].proxy);
        return UV_ENOENT;
    }
    ir = calloc(1, sizeof *ir);
    if (!ir) {
        snprintf(err, errlen, "out of memory");
        return UV_ENOMEM;
    }
    snprintf(ir->nat, sizeof ir->nat, IPTABLES_CHAIN_PREFIX "%d-NAT", (int)getpid());
    snprintf(ir->tpx, sizeof ir->tpx, IPTABLES_CHAIN_PREFIX "%d-TPX", (int)getpid());
    for (int v6 = 0; v6 < 2; v6++)
        for (int tbl = 0; tbl < 2; tbl++)
            iptables_remove_chains(v6, tbl ? "mangle" : "nat", false, NULL, 0, NULL, 0);
    r = apply_family(ir, false, true, t, n, err, errlen);
    if (r < 0) {
        remove_chains(ir, false); /* a batch that failed changed nothing; this is for sure */
        free(ir);
        return r;
    }
    ir->v6 = iptables_have_tool("ip6tables-restore") &&
             apply_family(ir, true, true, t, n, e6, sizeof e6) == 0;
    if (!ir->v6) {
        if (wants_family(t, n, AF_INET6)) {
            snprintf(err, errlen, "%s",
                     iptables_have_tool("ip6tables-restore")
                         ? e6
                         : "IPv6 interception needs ip6tables-restore: apt-get install iptables");
            intercept_rules_remove(ir);
            return UV_EIO;
        }
        LOG(LOG_LEVEL_WARN, NULL, "intercept", "IPv6 connections are not intercepted: %s",
            iptables_have_tool("ip6tables-restore") ? e6 : "ip6tables-restore is missing");
    }
    *out = ir;
    return 0;
}

int intercept_rules_apply(struct intercept_rules **ir, const struct intercept_target *t, size_t n,
                          char *err, size_t errlen)
{
    bool tproxy = any_mode(t, n, INTERCEPT_TPROXY);
    char out[512];
    int r;

    if (!*ir) {
        if (n == 0)
            return 0;
        r = create(ir, t, n, err, errlen);
        if (r < 0)
            return r;
    } else {
        r = apply_family(*ir, false, false, t, n, err, errlen);
        if (r == 0 && (*ir)->v6)
            r = apply_family(*ir, true, false, t, n, err, errlen);
        if (r < 0)
            return r;
    }
    if (tproxy && !(*ir)->route) {
        if (tproxy_route(false, true, out, sizeof out) != 0 ||
            ((*ir)->v6 && tproxy_route(true, true, out, sizeof out) != 0)) {
            snprintf(err, errlen, "mode: tproxy: cannot add its routing rule: %s", out);
            tproxy_route(false, false, NULL, 0);
            tproxy_route(true, false, NULL, 0);
            return UV_EIO;
        }
        (*ir)->route = true;
    } else if (!tproxy && (*ir)->route) {
        tproxy_route(false, false, NULL, 0);
        tproxy_route(true, false, NULL, 0);
        (*ir)->route = false;
    }
    LOG(LOG_LEVEL_INFO, NULL, "intercept",
        "interception rules: %zu prox%s in chains %s/%s (removed at exit)", n, n == 1 ? "y" : "ies",
        (*ir)->nat, (*ir)->tpx);
    return 0;
}

void intercept_rules_remove(struct intercept_rules *ir)
{
    if (!ir)
        return;
    remove_chains(ir, false);
    if (ir->v6)
        remove_chains(ir, true);
    if (ir->route) {
        tproxy_route(false, false, NULL, 0);
        tproxy_route(true, false, NULL, 0);
    }
    free(ir);
}

int intercept_cleanup_all(char *report, size_t reportlen, char *err, size_t errlen)
{
    static const char *const tables[] = {"nat", "mangle"};
    int r = 0;

    if (!iptables_have_cap_net_admin()) {
        snprintf(err, errlen, "--cleanup needs CAP_NET_ADMIN (run as root)");
        return UV_EPERM;
    }
    for (int v6 = 0; v6 < 2; v6++) {
        if (!iptables_have_tool(v6 ? "ip6tables-restore" : "iptables-restore") ||
            !iptables_have_tool(v6 ? "ip6tables-save" : "iptables-save"))
            continue;
        for (size_t i = 0; i < 2; i++) {
            char e[512];
            /* every table of both families even when one failed: leave as little as can be */
            if (iptables_remove_chains(v6, tables[i], true, report, reportlen, e, sizeof e) < 0 &&
                r == 0) {
                snprintf(err, errlen, "%s", e);
                r = UV_EIO;
            }
        }
        if (tproxy_route(v6, false, NULL, 0) > 0) {
            size_t used = strlen(report);
            snprintf(report + used, reportlen - used,
                     "removed the TPROXY routing rule (ip %s rule fwmark 0x%x lookup %d)\n",
                     v6 ? "-6" : "-4", INTERCEPT_TPROXY_MARK, INTERCEPT_TPROXY_TABLE);
        }
    }
    return r;
}
