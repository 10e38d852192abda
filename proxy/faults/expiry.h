/*
 * Faults that end themselves: the clocks of the running configuration's `for:` faults.
 *
 * A fault's clock starts when it is attached (at start, or by a reload that adds or changes
 * it) and goes on through reloads that keep it unchanged. When it runs out, the fault leaves
 * the running configuration as if it had been deleted through the API: a reload with it taken
 * out, so open connections detach it (proxy/faults/inject.c). A fault that ran out stays out of every
 * later configuration that still defines it the same way (a file that still has it): a
 * time-boxed injection never comes back by itself; a changed definition attaches it again,
 * with a new clock, and so does one removed and added again.
 */
#ifndef FINWAIT_PROXY_EXPIRY_H
#define FINWAIT_PROXY_EXPIRY_H

#include <stdbool.h>
#include <stdint.h>

#include "rules/config.h"
#include "rules/plan.h"

struct expiry;
struct server;

/* The clocks of srv's faults, on srv's loop. Returns 0 or UV_ENOMEM. */
int expiry_new(struct expiry **out, struct server *srv);
/* Stop the clocks; freed once the loop has closed the timer. */
void expiry_close(struct expiry *ex);

/*
 * Before `next` runs: take out of it the faults that ran out and that it defines the same way
 * (logged, except right after they ran out). With `asked` (an admin API request, whose
 * document has lost them), such a fault was added again on purpose: it stays in `next`.
 */
void expiry_filter(struct expiry *ex, struct config *next, bool asked);

/*
 * `next` is now the running configuration, reached by `plan` (NULL at start) while the one
 * before is still valid. The faults kept unchanged under a proxy of the same name keep their
 * clocks (unless the plan starts that proxy anew); the others with `for` start theirs now.
 */
void expiry_commit(struct expiry *ex, const struct config *next, const struct plan *plan);

/* The time left of the running configuration's fault f: true and *left_ms, or false when f
 * has no clock. */
bool expiry_left(const struct expiry *ex, const struct fault *f, uint64_t *left_ms);

/* Graceful stop: every time-boxed fault leaves now, so open connections drain without them.
 * Faults without `for` stay: they are the configuration the user asked for. */
void expiry_revert_all(struct expiry *ex);

#endif
