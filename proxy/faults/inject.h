/*
 * Faults in action: the per-connection runtime of the faults rules/ chose for it. The relay
 * (conn.c) calls these hooks at its decision points; each fault type is an ops table in
 * inject.c.
 */
#ifndef FINWAIT_PROXY_INJECT_H
#define FINWAIT_PROXY_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/relay/conn-t.h"

struct buf;
struct cfg_gen;
struct proxy_cfg;
struct plan_fault;
struct fault;

/* Decide which of c's proxy's faults apply to c (accepted just now, from c->client): counts
 * those that do, says at debug level why each other one does not. Returns the mask for
 * inject_new(). */
uint64_t inject_decide(struct conn *c);
/* Set up the faults of `mask` (bits of c's proxy's faults) for c. Returns 0 or UV_ENOMEM. */
int inject_new(struct conn *c, uint64_t mask);
/* Right after accept. True if a fault ended the connection (refuse): do not connect. */
bool inject_on_accept(struct conn *c);
/* The leg's socket exists (client: accepted; server: before connect to `peer`): if a packet
 * fault applies to the leg, mark it for the packet engine and start watching its flow.
 * Returns true if it did. */
bool inject_on_socket(struct conn *c, enum leg_id l, int fd, const struct sockaddr *peer);
/* The server leg is connected: start timers, register packet flows. */
void inject_on_connected(struct conn *c);
/* Data read from d's source. True if a fault took the buffer (dropped it, or will write it
 * later); false: the relay writes it now. May close c: check c->closing after. */
bool inject_on_data(struct conn *c, enum dir d, struct buf *b, size_t len);
/* d's source sent its FIN. True if a fault took over relaying it. */
bool inject_on_fin(struct conn *c, enum dir d);
/* A fault keeps d's bytes on the copying path: a fault applies to c, or a shaping queue
 * still holds bytes of d. */
bool inject_busy(const struct conn *c, enum dir d);
/*
 * A reload kept c's proxy: carry out its fault steps on c (attach, change, detach, as the
 * README's fault tables say) and move c to generation gen, whose proxy np replaces c->p.
 * May close c.
 */
void inject_reload(struct conn *c, struct cfg_gen *gen, const struct proxy_cfg *np,
                   const struct plan_fault *steps, size_t n);
/* Call fn for each fault that applies to c now, in configuration order, with what it is
 * doing on c ("holding the client's FIN to the server", "armed", "fired"). */
void inject_describe(const struct conn *c,
                     void (*fn)(void *arg, const struct fault *f, const char *state), void *arg);
/* Close every handle the faults hold (each counted in c->pending). */
void inject_close(struct conn *c);
void inject_free(struct conn *c);

#endif
