/*
 * A reload as a plan: what changes between the running configuration and the next one.
 *
 * Pure C, computed before anything runs is touched, so proxy/ only carries it out. Proxies
 * are matched by name, never by position: a list that gains, loses or reorders proxies
 * matches the same way.
 */
#ifndef FINWAIT_RULES_PLAN_H
#define FINWAIT_RULES_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* No proxy on that side. */
#define PLAN_NONE SIZE_MAX

/* What happens to one listening socket. */
enum plan_action {
    PLAN_KEEP,  /* a running socket serves a proxy of the next configuration (its settings
                   may change; open connections stay) */
    PLAN_START, /* a proxy of the next configuration needs a new socket */
    PLAN_STOP,  /* a running socket serves nothing any more: removed, disabled, or moved to
                   another address */
};

/* What happens to one fault of a kept proxy, on the connections that are open. */
enum plan_fault_action {
    PLAN_FAULT_SAME,   /* unchanged: open connections keep it as it is */
    PLAN_FAULT_CHANGE, /* same name, other settings: open connections take the new ones */
    PLAN_FAULT_ATTACH, /* new: it reaches the open connections (subject to its probability) */
    PLAN_FAULT_DETACH, /* gone: it leaves the open connections */
};

struct plan_fault {
    enum plan_fault_action action;
    size_t old_fault; /* index in the running proxy's faults (SAME, CHANGE, DETACH) */
    size_t new_fault; /* index in the next proxy's faults (SAME, CHANGE, ATTACH) */
};

struct plan_step {
    enum plan_action action;
    size_t old_index;      /* index in the running config's proxies (KEEP, STOP), else PLAN_NONE */
    size_t new_index;      /* index in the next config's proxies (KEEP, START), else PLAN_NONE */
    bool renamed;          /* KEEP: the socket passes to a proxy of another name at its address */
    bool upstream_changed; /* KEEP: the proxy relays to another upstream from now on */
    /* KEEP of the same proxy (not renamed): its faults matched by name (the n-th fault of a
     * name with the n-th of that name), DETACH first, then the next proxy's faults in order */
    struct plan_fault *faults;
    size_t nfaults;
    size_t nchanged; /* faults that are not SAME */
};

/*
 * Steps in the order to carry them out: every START first (so a failure to bind leaves what
 * runs untouched), then KEEP in the next configuration's order, then STOP.
 */
struct plan {
    struct plan_step *steps;
    size_t n;
    size_t nkeep, nstart, nstop;
};

/*
 * The plan from `old` to `next`. `bound_port[i]` is the port old->proxies[i] listens on now
 * (the ephemeral one it was given for port 0), or 0 when it does not listen (disabled).
 * A proxy keeps its socket when it keeps its name and address (the same host text, and the
 * same port or the one it was given for port 0); a proxy that is new by name takes over the
 * socket at its fixed address that no proxy of the same name kept (a rename). Returns 0, or
 * -1 when out of memory (then *out is empty).
 */
int plan_make(const struct config *old, const uint16_t *bound_port, const struct config *next,
              struct plan *out);
void plan_free(struct plan *p);

#endif
