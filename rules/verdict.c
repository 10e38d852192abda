/*
 * The facts of a connection and the names of the verdicts. The detectors are in
 * verdict_detect.c (one connection) and verdict_many.c (many connections of a proxy).
 */
#include "rules/verdict.h"

#include <stdio.h>
#include <string.h>

static const char *const kind_names[VK_COUNT] = {
    [VK_PEER_KEEPS_CLOSED] = "peer_keeps_closed",
    [VK_CLOSE_WAIT_LEAK] = "close_wait_leak",
    [VK_REQUEST_INTO_CLOSED] = "request_into_closed",
    [VK_ANSWER_LOST] = "answer_lost",
    [VK_HALF_CLOSE_IGNORED] = "half_close_ignored",
    [VK_ABANDONED] = "abandoned",
    [VK_TIME_WAIT_PRESSURE] = "time_wait_pressure",
    [VK_CLIENT_TIMEOUT_SHORTER] = "client_timeout_shorter",
};

void verdict_cfg_default(struct verdict_cfg *vc)
{
    memset(vc, 0, sizeof *vc);
    for (int k = 0; k < VK_COUNT; k++)
        vc->on[k] = true;
    vc->peer_keeps_closed_ms = 5000;
    vc->close_wait_leak_ms = 60000;
    vc->request_into_closed_ms = 10;
    vc->answer_lost_ms = 100;
    vc->abandoned_ms = 60000;
    vc->abandoned_count = 10;
    vc->time_wait_per_minute = 2500;
    vc->retry_within_ms = 5000;
    vc->hung_after_ms = 10000;
}

const char *verdict_kind_name(enum verdict_kind k)
{
    return (unsigned)k < VK_COUNT ? kind_names[k] : "?";
}

bool verdict_kind_lookup(const char *name, enum verdict_kind *out)
{
    for (int k = 0; k < VK_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (enum verdict_kind)k;
            return true;
        }
    return false;
}

const char *verdict_side_name(enum verdict_side s)
{
    return s == VSIDE_CLIENT ? "client" : "server";
}

void verdict_facts_init(struct verdict_facts *f)
{
    memset(f, 0, sizeof *f);
    for (int l = 0; l < 2; l++) {
        f->legs[l].established_ms = VF_NONE;
        f->legs[l].fin_received_ms = VF_NONE;
        f->legs[l].fin_sent_ms = VF_NONE;
        f->legs[l].rst_received_ms = VF_NONE;
        f->legs[l].rst_sent_ms = VF_NONE;
        f->last_data_ms[l] = VF_NONE;
        f->undelivered_ms[l] = VF_NONE;
    }
}

void verdict_facts_leg_established(struct verdict_facts *f, int leg, double t_ms)
{
    f->legs[leg & 1].established_ms = t_ms;
}

/* Only the first of each event counts: what came after it cannot change its meaning. */
static void set_once(double *slot, double t_ms)
{
    if (*slot == VF_NONE)
        *slot = t_ms;
}

void verdict_facts_leg_event(struct verdict_facts *f, int leg, const char *which, double t_ms)
{
    struct vf_leg *l = &f->legs[leg & 1];

    if (strcmp(which, "fin_received") == 0)
        set_once(&l->fin_received_ms, t_ms);
    else if (strcmp(which, "fin_sent") == 0)
        set_once(&l->fin_sent_ms, t_ms);
    else if (strcmp(which, "rst_received") == 0)
        set_once(&l->rst_received_ms, t_ms);
    else if (strcmp(which, "rst_sent") == 0)
        set_once(&l->rst_sent_ms, t_ms);
}

void verdict_facts_data(struct verdict_facts *f, int dir, uint64_t bytes, double t_ms)
{
    struct vf_burst *last = f->nbursts ? &f->bursts[f->nbursts - 1] : NULL;

    dir &= 1;
    if (bytes == 0)
        return;
    f->bytes[dir] += bytes;
    f->last_data_ms[dir] = t_ms;
    if (last && last->dir == dir) {
        last->last_ms = t_ms;
        last->bytes += bytes;
        return;
    }
    if (dir == 1 && last)
        f->answered = true;
    if (f->nbursts == VF_BURSTS) {
        memmove(&f->bursts[0], &f->bursts[1], (VF_BURSTS - 1) * sizeof f->bursts[0]);
        f->nbursts--;
        f->dropped++;
    }
    f->bursts[f->nbursts++] =
        (struct vf_burst){t_ms, t_ms, bytes, dir, dir == 1 && f->early_pending};
    if (dir == 1)
        f->early_pending = false;
}

void verdict_facts_early(struct verdict_facts *f)
{
    f->early_pending = true;
}

void verdict_facts_undelivered(struct verdict_facts *f, int dir, uint64_t bytes, double t_ms)
{
    dir &= 1;
    if (bytes == 0)
        return;
    f->undelivered[dir] += bytes;
    f->undelivered_ms[dir] = t_ms;
}

void verdict_facts_fault(struct verdict_facts *f, const char *name, double t_ms)
{
    snprintf(f->fault, sizeof f->fault, "%s", name ? name : "");
    f->fault_ms = t_ms;
}
