/* The fault types' table and the accessors that read it. */
#include "rules/fault_spec.h"

#include <string.h>

#define OFF(m) offsetof(struct fault, m)
#define DIR_PARAMS                                                                                 \
    {                                                                                              \
        "direction", P_DIRECTION, OFF(direction), false                                            \
    }
#define STREAM_PARAMS                                                                              \
    {"stream", P_DIRECTION, OFF(direction), false},                                                \
    {                                                                                              \
        "direction", P_DIRECTION, OFF(direction), false                                            \
    }

const struct type_spec fault_specs[FAULT_TYPE_COUNT] = {
    [FAULT_DELAY_FIN] = {"delay_fin",
                         false,
                         FAULT_DIR_BOTH,
                         {DIR_PARAMS, {"delay", P_DELAY_FIN, OFF(delay_ms), true}}},
    [FAULT_RST_INSTEAD_OF_FIN] = {"rst_instead_of_fin", false, FAULT_DIR_BOTH, {DIR_PARAMS}},
    [FAULT_BREAK_HALF_CLOSE] = {"break_half_close",
                                false,
                                FAULT_DIR_BOTH,
                                {{"delay", P_DURATION, OFF(delay_ms), false}}},
    [FAULT_RESET] = {"reset",
                     false,
                     FAULT_DIR_BOTH,
                     {{"after", P_DURATION, OFF(after_ms), false},
                      {"after_bytes", P_BYTES, OFF(after_bytes), false},
                      DIR_PARAMS,
                      {"to", P_TO, OFF(to), false}}},
    [FAULT_CLOSE] = {"close",
                     false,
                     FAULT_DIR_BOTH,
                     {{"after", P_DURATION, OFF(after_ms), false},
                      {"after_bytes", P_BYTES, OFF(after_bytes), false},
                      DIR_PARAMS,
                      {"to", P_TO, OFF(to), false}}},
    [FAULT_BLACKHOLE] = {"blackhole",
                         false,
                         FAULT_DIR_BOTH,
                         {DIR_PARAMS, {"after", P_DURATION, OFF(after_ms), false}}},
    [FAULT_REFUSE] = {"refuse", false, FAULT_DIR_BOTH, {{"mode", P_MODE, OFF(mode), false}}},
    [FAULT_LATENCY] = {"latency",
                       true,
                       FAULT_DIR_DOWNSTREAM,
                       {{"latency", P_DURATION, OFF(latency_ms), false},
                        {"jitter", P_DURATION, OFF(jitter_ms), false},
                        STREAM_PARAMS}},
    [FAULT_BANDWIDTH] = {"bandwidth",
                         true,
                         FAULT_DIR_DOWNSTREAM,
                         {{"rate", P_RATE, OFF(rate_kbps), true}, STREAM_PARAMS}},
    [FAULT_SLOW_CLOSE] = {"slow_close",
                          true,
                          FAULT_DIR_DOWNSTREAM,
                          {{"delay", P_DURATION, OFF(delay_ms), false}, STREAM_PARAMS}},
    [FAULT_TIMEOUT] = {"timeout",
                       true,
                       FAULT_DIR_DOWNSTREAM,
                       {{"timeout", P_DURATION, OFF(timeout_ms), false}, STREAM_PARAMS}},
    [FAULT_RESET_PEER] = {"reset_peer",
                          true,
                          FAULT_DIR_DOWNSTREAM,
                          {{"timeout", P_DURATION, OFF(timeout_ms), false}, STREAM_PARAMS}},
    [FAULT_SLICER] = {"slicer",
                      true,
                      FAULT_DIR_DOWNSTREAM,
                      {{"average_size", P_RATE, OFF(average_size), true},
                       {"size_variation", P_BYTES, OFF(size_variation), false},
                       {"delay", P_SLICER_US, OFF(delay_us), false},
                       STREAM_PARAMS}},
    [FAULT_LIMIT_DATA] = {"limit_data",
                          true,
                          FAULT_DIR_DOWNSTREAM,
                          {{"bytes", P_BYTES, OFF(bytes), true}, STREAM_PARAMS}},
    [FAULT_NOOP] = {"noop", true, FAULT_DIR_DOWNSTREAM, {STREAM_PARAMS}},
    [FAULT_DROP_FINAL_ACK] = {"drop_final_ack",
                              false,
                              FAULT_DIR_BOTH,
                              {{"leg", P_LEG, OFF(leg), true},
                               {"count", P_COUNT, OFF(count), false}}},
    [FAULT_DROP_FIN] = {"drop_fin",
                        false,
                        FAULT_DIR_BOTH,
                        {{"leg", P_LEG, OFF(leg), true},
                         {"from", P_FROM, OFF(from), true},
                         {"count", P_COUNT, OFF(count), false}}},
};

const char *fault_type_name(enum fault_type t)
{
    return t < FAULT_TYPE_COUNT ? fault_specs[t].name : "?";
}

bool fault_type_lookup(const char *name, enum fault_type *out)
{
    for (int t = 0; t < FAULT_TYPE_COUNT; t++)
        if (strcmp(fault_specs[t].name, name) == 0) {
            *out = (enum fault_type)t;
            return true;
        }
    return false;
}

bool fault_type_has_param(enum fault_type t, const char *name)
{
    if (t >= FAULT_TYPE_COUNT)
        return false;
    for (size_t i = 0; i < sizeof fault_specs[t].params / sizeof fault_specs[t].params[0]; i++)
        if (fault_specs[t].params[i].name && strcmp(fault_specs[t].params[i].name, name) == 0)
            return true;
    return false;
}

bool fault_type_is_toxic(enum fault_type t)
{
    return t < FAULT_TYPE_COUNT && fault_specs[t].toxic;
}

bool fault_type_is_packet(enum fault_type t)
{
    return t == FAULT_DROP_FINAL_ACK || t == FAULT_DROP_FIN;
}

const char *fault_dir_name(enum fault_dir d)
{
    return d == FAULT_DIR_UPSTREAM ? "upstream" : d == FAULT_DIR_DOWNSTREAM ? "downstream" : "both";
}
