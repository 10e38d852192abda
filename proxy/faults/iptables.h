/*
 * What finwait's two users of iptables share (the packet engine, proxy/faults/packet.c, and
 * transparent interception, proxy/faults/intercept_rules.c): running the tools, the chains
 * named for the process that owns them ("FINWAIT-<pid>-..."), and removing those a dead
 * finwait left behind. Blocking calls: only at start, reload and exit, never per connection.
 */
#ifndef FINWAIT_PROXY_IPTABLES_H
#define FINWAIT_PROXY_IPTABLES_H

#include <stdbool.h>
#include <stddef.h>

/* Every chain finwait makes starts with this, followed by its pid. */
#define IPTABLES_CHAIN_PREFIX "FINWAIT-"

/* How to grant what writing iptables rules needs, for the one-line error. finwait's image runs
 * as a non-root user, and Docker and Kubernetes give an added capability to root only. */
#define IPTABLES_GRANT                                                                             \
    "run finwait as root, or grant CAP_NET_ADMIN (docker-compose: cap_add: [NET_ADMIN], with "     \
    "user: \"0\" for finwait's image; Kubernetes: securityContext.capabilities.add: "              \
    "[\"NET_ADMIN\"] with runAsUser: 0)"

/* True if the tool `name` is installed (looked up in the sbin directories too: a service's
 * PATH often lacks them). */
bool iptables_have_tool(const char *name);
/* True if this process has CAP_NET_ADMIN in its effective set. */
bool iptables_have_cap_net_admin(void);
/* Run `argv` (argv[0] a tool name, looked up as iptables_have_tool does) with `input` on its
 * stdin (may be NULL); its stdout and stderr into `out` (may be NULL). Returns its exit
 * status, or -1. */
int iptables_run(const char *const *argv, const char *input, char *out, size_t outlen);
/* `tool -w -n` (iptables-restore, ip6tables-restore) with `script` on its stdin. */
int iptables_restore(const char *tool, const char *script, char *out, size_t outlen);
/*
 * Remove the finwait chains of table `table` of one family (IPv6 if `v6`): those of dead
 * processes, or all of them, and every rule that jumps to one, whatever a dead process
 * managed to undo before it died. Each removed chain is appended to `report` (may be NULL)
 * as a line. Returns 0 (also when the family has no such table) or UV_EIO with `err` set.
 */
int iptables_remove_chains(bool v6, const char *table, bool all, char *report, size_t reportlen,
                           char *err, size_t errlen);

#endif
