/*
 * The iptables rules of transparent interception, in chains finwait owns (README "Transparent
 * interception"):
 *   nat OUTPUT -> FINWAIT-<pid>-NAT: REDIRECT the connections this namespace makes to an
 *     intercepted port (the sidecar case);
 *   mangle PREROUTING -> FINWAIT-<pid>-TPX: TPROXY the connections routed through it (the
 *     gateway case), with a policy route (fwmark INTERCEPT_TPROXY_MARK, table
 *     INTERCEPT_TPROXY_TABLE) that delivers them to the local listener.
 * finwait's own upstream connections carry a mark in INTERCEPT_MARK_MASK and are never taken.
 * Installed at start, replaced in one batch per table on a reload, removed at exit;
 * `finwait --cleanup` removes what a killed finwait left.
 */
#ifndef FINWAIT_PROXY_INTERCEPT_RULES_H
#define FINWAIT_PROXY_INTERCEPT_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "rules/config.h"

/* The SO_MARK of finwait's upstream sockets while it intercepts; every mark of finwait's
 * (the packet engine's too) matches INTERCEPT_MARK_MASK, and no rule of finwait's takes a
 * connection that carries one. */
#define INTERCEPT_MARK         0x46578000u
#define INTERCEPT_MARK_MASK    0xffff0000u
#define INTERCEPT_TPROXY_MARK  0x46574000u
#define INTERCEPT_TPROXY_TABLE 18007

/* The address families a listener receives (intercept_target.families). */
#define INTERCEPT_V4 1u
#define INTERCEPT_V6 2u

/* One intercepting proxy: its `intercept:` and where its listener is bound. */
struct intercept_target {
    const char *proxy;
    const struct intercept_cfg *ic;
    uint16_t port;     /* the listener's bound port */
    unsigned families; /* INTERCEPT_V4 | INTERCEPT_V6 the listener receives: no rule sends a
                          connection of another family to it */
};

struct intercept_rules;

/*
 * Make the rules say what targets[0..n) say. The first call checks what is needed
 * (CAP_NET_ADMIN, the iptables tools, the kernel's REDIRECT or TPROXY), removes the chains of
 * dead finwait processes and creates this one's; later calls replace the chains' rules in one
 * batch per table, so connections already intercepted keep going (conntrack keeps their NAT).
 * n == 0 with *ir NULL does nothing. Returns 0, or a negative UV_E* code with one sentence in
 * `err` saying what is missing and how to grant it (the rules are then as they were).
 */
int intercept_rules_apply(struct intercept_rules **ir, const struct intercept_target *targets,
                          size_t n, char *err, size_t errlen);
/* Remove every rule, chain and route of ir and free it. NULL is allowed. */
void intercept_rules_remove(struct intercept_rules *ir);
/*
 * `finwait --cleanup`: remove every finwait chain of the nat and mangle tables (IPv4 and
 * IPv6, any pid) and the TPROXY policy routes. One line per thing removed is appended to
 * `report`. Returns 0 or a negative UV_E* code with one sentence in `err`.
 */
int intercept_cleanup_all(char *report, size_t reportlen, char *err, size_t errlen);

#endif
