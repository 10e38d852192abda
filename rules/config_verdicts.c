/*
 * A proxy's `verdicts:` block: each detector's threshold, or `off`.
 *
 *   verdicts:
 *     peer_keeps_closed: 5s         # a duration, or on / off
 *     close_wait_leak: 60s
 *     request_into_closed: 10ms
 *     answer_lost: 100ms
 *     half_close_ignored: on        # on / off only
 *     abandoned: 60s
 *     abandoned_count: 10           # idle connections of one client
 *     time_wait_pressure: 2500      # connections per minute, or on / off
 *     client_timeout_shorter: on
 *     retry_within: 5s              # how a client coped with a fault (rules/coping.h)
 *     hung_after: 10s
 *     enabled: false                # every detector off (the others then switch one on)
 */
#include <string.h>

#include "rules/config_yaml.h"
#include "rules/value.h"
#include "rules/verdict.h"

enum vtype {
    VT_SWITCH,   /* on / off only */
    VT_DURATION, /* on / off, or the threshold as a duration */
    VT_COUNT,    /* on / off, or the threshold as a number */
};

struct vkey {
    const char *name;
    int kind; /* enum verdict_kind, or -1 for a key of no kind */
    enum vtype type;
    size_t off; /* of the threshold in struct verdict_cfg */
};

#define OFF(m) offsetof(struct verdict_cfg, m)

static const struct vkey vkeys[] = {
    {"peer_keeps_closed", VK_PEER_KEEPS_CLOSED, VT_DURATION, OFF(peer_keeps_closed_ms)},
    {"close_wait_leak", VK_CLOSE_WAIT_LEAK, VT_DURATION, OFF(close_wait_leak_ms)},
    {"request_into_closed", VK_REQUEST_INTO_CLOSED, VT_DURATION, OFF(request_into_closed_ms)},
    {"answer_lost", VK_ANSWER_LOST, VT_DURATION, OFF(answer_lost_ms)},
    {"half_close_ignored", VK_HALF_CLOSE_IGNORED, VT_SWITCH, 0},
    {"abandoned", VK_ABANDONED, VT_DURATION, OFF(abandoned_ms)},
    {"abandoned_count", -1, VT_COUNT, OFF(abandoned_count)},
    {"time_wait_pressure", VK_TIME_WAIT_PRESSURE, VT_COUNT, OFF(time_wait_per_minute)},
    {"client_timeout_shorter", VK_CLIENT_TIMEOUT_SHORTER, VT_SWITCH, 0},
    {"retry_within", -1, VT_DURATION, OFF(retry_within_ms)},
    {"hung_after", -1, VT_DURATION, OFF(hung_after_ms)},
    {"enabled", -1, VT_SWITCH, 0},
};

#define NVKEYS (sizeof vkeys / sizeof vkeys[0])

static void one(struct ld *ld, const struct vkey *k, yaml_node_t *v, struct verdict_cfg *vc)
{
    uint64_t *thr = k->off ? (uint64_t *)((char *)vc + k->off) : NULL;
    bool on;

    if (!config__want_scalar(ld, v, k->type == VT_SWITCH ? "on or off" : "a threshold or off"))
        return;
    if (value_parse_bool(scalar(v), &on) == 0 || strcmp(scalar(v), "on") == 0 ||
        strcmp(scalar(v), "off") == 0) {
        if (strcmp(scalar(v), "on") == 0)
            on = true;
        else if (strcmp(scalar(v), "off") == 0)
            on = false;
        if (k->kind >= 0) {
            vc->on[k->kind] = on;
        } else if (strcmp(k->name, "enabled") == 0) {
            for (int i = 0; i < VK_COUNT; i++)
                vc->on[i] = on;
        } else {
            ERR(ld, v, "'%s' takes %s, got '%s'", k->name,
                k->type == VT_DURATION ? "a duration" : "a number", scalar(v));
        }
        return;
    }
    if (k->type == VT_SWITCH) {
        ERR(ld, v, "expected on or off, got '%s'", scalar(v));
        return;
    }
    if (k->type == VT_DURATION ? config__get_duration_ms(ld, v, thr)
                               : config__get_uint(ld, v, "a number", UINT32_MAX, thr)) {
        if (*thr == 0)
            ERR(ld, v, "'%s' must be more than 0 (write 'off' to switch it off)", k->name);
        else if (k->kind >= 0)
            vc->on[k->kind] = true;
    }
}

void config__parse_verdicts(struct ld *ld, yaml_node_t *map, struct verdict_cfg *vc)
{
    static const char *names[NVKEYS];
    const struct vkey *enabled = &vkeys[NVKEYS - 1];
    yaml_node_t *en;
    uint32_t seen = 0;

    if (!config__want_mapping(ld, map))
        return;
    for (size_t i = 0; i < NVKEYS; i++)
        names[i] = vkeys[i].name;
    /* `enabled` first, wherever it is written: the others then say what it leaves on */
    en = config__find_key(ld, map, "enabled");
    if (en)
        one(ld, enabled, en, vc);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        int i = config__key_index(ld, yaml_document_get_node(&ld->doc, p->key), names, NVKEYS,
                                  &seen, "in verdicts ");
        if (i < 0)
            continue;
        if (&vkeys[i] != enabled)
            one(ld, &vkeys[i], yaml_document_get_node(&ld->doc, p->value), vc);
    }
}
