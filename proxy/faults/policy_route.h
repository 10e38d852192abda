/*
 * The policy routing that delivers TPROXY's marked packets to finwait's local listener, the
 * equivalent of
 *     ip rule add fwmark MARK lookup TABLE
 *     ip route replace local 0.0.0.0/0 dev lo table TABLE     (::/0 for IPv6)
 * spoken to the kernel over rtnetlink (libmnl) rather than by running iproute2's `ip`, which a
 * minimal image or host need not have.
 */
#ifndef FINWAIT_PROXY_POLICY_ROUTE_H
#define FINWAIT_PROXY_POLICY_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Add the rule and the route for one family (v6 or IPv4). Returns 0, or a negative errno with
 * one sentence in err (what the kernel refused and why). */
int policy_route_add(bool v6, uint32_t mark, uint32_t table, char *err, size_t errlen);
/* Remove every such rule of that family and the route: returns how many rules were removed
 * (a killed finwait may have left some), or a negative errno when rtnetlink is not there. */
int policy_route_del(bool v6, uint32_t mark, uint32_t table);

#endif
