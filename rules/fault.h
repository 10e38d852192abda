/*
 * Per-connection fault decisions: which of a proxy's faults apply to its next
 * accepted connection. Pure C; the proxy executes what this decides.
 */
#ifndef FINWAIT_RULES_FAULT_H
#define FINWAIT_RULES_FAULT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

/* Most faults one proxy may have (a decision is a 64-bit mask). */
#define FAULTS_MAX 64

/* A small, seedable PRNG; one per proxy so that proxies do not disturb each other. */
struct fault_rng {
    uint64_t s[2];
};

/* Seed the generator of proxy `proxy_name` from the config's seed. */
void fault_rng_seed(struct fault_rng *rng, uint64_t seed, const char *proxy_name);
/* A uniform double in [0, 1). */
double fault_rng_next(struct fault_rng *rng);
/* A uniform integer in [0, n); n > 0. */
uint64_t fault_rng_below(struct fault_rng *rng, uint64_t n);

/*
 * Decide once, when a connection is accepted, which faults of `p` apply to it:
 * bit i set means p->faults[i] applies. One number is drawn per fault whatever
 * the outcome, so with a fixed seed the n-th connection of a proxy always gets
 * the same faults, whatever the clients' addresses.
 */
uint64_t fault_decide(const struct proxy_cfg *p, struct fault_rng *rng,
                      const struct sockaddr *client);

/*
 * Decide whether fault `f`, attached while a connection from `client` is open, applies to
 * it: one number drawn from the proxy's generator, as fault_decide() draws one per fault, so
 * a seeded run repeats its attach decisions too.
 */
bool fault_decide_one(const struct fault *f, struct fault_rng *rng, const struct sockaddr *client);

/*
 * What a decision found for one fault, so that a fault that did not apply can say why (the
 * log at debug level): a connection that gets no fault at all is otherwise silent.
 */
struct fault_decision {
    double draw;  /* the number drawn for the fault, in [0, 1) */
    bool drawn;   /* draw < probability: the probability lets it apply */
    bool matched; /* no `match`, or the client (and the original destination) inside it */
};

static inline bool fault_decision_applies(const struct fault_decision *d)
{
    return d->drawn && d->matched;
}

/* fault_decide(), and what it found for each fault of p in why[i] (p->nfaults entries, at
 * most FAULTS_MAX). The same draws: a seeded run decides the same with or without `why`. */
uint64_t fault_decide_why(const struct proxy_cfg *p, struct fault_rng *rng,
                          const struct sockaddr *client, struct fault_decision *why);
/* fault_decide_one(), and what it found in *why. */
bool fault_decide_one_why(const struct fault *f, struct fault_rng *rng,
                          const struct sockaddr *client, struct fault_decision *why);

/*
 * Why fault f, decided as d for a connection from `client`, does not apply, for people:
 * every condition not met, "match: client 127.0.0.1 is not in 10.0.0.0/8; probability 0.5:
 * drew 0.734". Returns buf (always NUL-terminated).
 */
const char *fault_decision_text(const struct fault *f, const struct fault_decision *d,
                                const struct sockaddr *client, char *buf, size_t len);

/*
 * The decisions above for a connection whose original destination is `dest` (an intercepted
 * connection), or NULL (an addressed one: a `match: {destination}` never matches it).
 */
uint64_t fault_decide_at(const struct proxy_cfg *p, struct fault_rng *rng,
                         const struct sockaddr *client, const struct sockaddr *dest,
                         struct fault_decision *why);
bool fault_decide_one_at(const struct fault *f, struct fault_rng *rng,
                         const struct sockaddr *client, const struct sockaddr *dest,
                         struct fault_decision *why);
const char *fault_decision_text_at(const struct fault *f, const struct fault_decision *d,
                                   const struct sockaddr *client, const struct sockaddr *dest,
                                   char *buf, size_t len);

/* True if `addr` (AF_INET or AF_INET6; v4-mapped v6 counts as v4) is inside `net`. */
bool cidr_contains(const struct cidr *net, const struct sockaddr *addr);

#endif
