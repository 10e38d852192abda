/*
 * What each fault type is and takes: its name, whether it is a Toxiproxy toxic, its default
 * direction, and its parameters (name, how the value is read, where it goes in struct fault).
 * Data for the loader (rules/config.c) and the accessors in config.h; private to rules/.
 */
#ifndef FINWAIT_RULES_FAULT_SPEC_H
#define FINWAIT_RULES_FAULT_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Most parameters one type takes, besides type, name, probability, match and toxicity. */
#define FAULT_PARAMS_MAX 6

/* How a fault parameter is read. */
enum ptype {
    P_DIRECTION, /* upstream | downstream | both */
    P_DURATION,  /* duration, bare integer = ms */
    P_DELAY_FIN, /* duration or `forever` */
    P_BYTES,     /* integer, 0 to VALUE_SIZE_MAX */
    P_SLICER_US, /* duration, bare integer = microseconds */
    P_TO,        /* client | server | both */
    P_MODE,      /* reset | close */
    P_LEG,       /* client | server */
    P_FROM,      /* finwait | peer */
    P_COUNT,     /* integer >= 1 or `all` */
    P_RATE,      /* integer, 1 to VALUE_SIZE_MAX */
};

struct param {
    const char *name;
    enum ptype type;
    size_t offset;
    bool required;
};

struct type_spec {
    const char *name;
    bool toxic; /* a Toxiproxy toxic: `toxicity` and `stream` accepted */
    enum fault_dir default_dir;
    struct param params[FAULT_PARAMS_MAX]; /* in use first; the rest have no name */
};

extern const struct type_spec fault_specs[FAULT_TYPE_COUNT];

#endif
