/*
 * The socket side of transparent interception: where an intercepted connection was going,
 * and how finwait's own connection there is made so that no rule of finwait's takes it again
 * (its mark) and, with TPROXY, so that the server sees the client's address (IP_TRANSPARENT).
 * The rules that bring the connections here are proxy/faults/intercept_rules.c.
 */
#ifndef FINWAIT_PROXY_RELAY_INTERCEPT_H
#define FINWAIT_PROXY_RELAY_INTERCEPT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rules/config.h"

/*
 * The destination the client of accepted socket `fd` connected to: SO_ORIGINAL_DST (IPv4,
 * also for an IPv4 client of a dual-stack listener) or IP6T_SO_ORIGINAL_DST after a REDIRECT;
 * the socket's own local address after a TPROXY (which changes no address). An IPv4-mapped
 * address is returned as IPv4. 0 or a negative UV_E* code.
 */
int intercept_original_dst(int fd, enum intercept_mode mode, struct sockaddr_storage *out);

/* True if a and b are the same address and port (an IPv4-mapped address equals its IPv4). */
bool intercept_same_addr(const struct sockaddr *a, const struct sockaddr *b);

/*
 * Prepare `fd`, a socket about to connect to an intercepted connection's destination: `mark`
 * (if not 0) as its SO_MARK, which finwait's rules let pass; with `transparent`, bound to the
 * client's address `client` (port chosen at connect) so the server sees the client's address.
 * 0 or a negative UV_E* code (the socket is usable either way, without what failed).
 */
int intercept_prepare_upstream(int fd, uint32_t mark, bool transparent,
                               const struct sockaddr *client);

/* Make listening socket `fd` (not bound yet) accept connections for any address: TPROXY hands
 * it connections whose destination is another host's. 0 or a negative UV_E* code. */
int intercept_listen_transparent(int fd, int family);

#endif
