/*
 * Packet-level tests touch iptables: each runs in a network namespace of its own, so the
 * host's rules are never touched, with tcp_orphan_retries lowered so that "never ACKed"
 * closes end in seconds.
 */
#ifndef FW_TEST_NETNS_H
#define FW_TEST_NETNS_H

#include <stdbool.h>
#include <stdint.h>

/* Enter a new network namespace with lo up. Without the privilege: exit 77 (skipped), unless
 * CI=true and running as root, where a skip would hide a failure: then the test fails. */
void netns_enter(int orphan_retries);
/* Enter a new network namespace with lo up if the privilege allows; false otherwise (the test
 * then runs where it is, and must not touch iptables). */
bool netns_try_enter(void);
/* Sockets in /proc/net/tcp{,6} with local port `port` in kernel state `state` (TCP_*). */
int netns_count_state(uint16_t port, int state);
/* Packets NFQUEUE `queue` has handed to its listener so far (id_sequence in
 * /proc/net/netfilter/nfnetlink_queue), or -1 if the queue is not bound. */
long netns_queue_packets(unsigned queue);
/* Lines of `iptables-save -t mangle` (and ip6tables) that mention FINWAIT. */
int netns_finwait_rules(void);
/* TPROXY's policy rules of finwait (fwmark 0x46574000) in this namespace, both families. */
int netns_tproxy_rules(void);

#endif
