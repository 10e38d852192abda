/*
 * The detectors judged over many connections of a proxy: abandoned connections (a client's
 * idle ones, counted at a sweep) and TIME_WAIT pressure (a client's rate of connections it
 * closes first).
 */
#include "rules/verdict.h"

#include <stdio.h>
#include <string.h>

int verdict_judge_abandoned(const struct verdict_cfg *vc, const struct verdict_open *open, size_t n,
                            struct finding *out, size_t *clients_out, int max)
{
    int nout = 0;

    if (!vc->on[VK_ABANDONED] || vc->abandoned_count == 0)
        return 0;
    for (size_t i = 0; i < n && nout < max; i++) {
        uint64_t idle = 0;
        double longest = 0;
        bool first = true;

        if (!open[i].established || open[i].idle_ms < (double)vc->abandoned_ms)
            continue;
        /* each client once: at its first idle connection in the list */
        for (size_t j = 0; j < n; j++) {
            if (!open[j].established || open[j].idle_ms < (double)vc->abandoned_ms ||
                strcmp(open[j].client, open[i].client) != 0)
                continue;
            if (j < i)
                first = false;
            idle++;
            if (open[j].idle_ms > longest)
                longest = open[j].idle_ms;
        }
        if (!first || idle < vc->abandoned_count)
            continue;
        struct finding *x = &out[nout];
        *x = (struct finding){.kind = VK_ABANDONED, .side = VSIDE_CLIENT, .t_ms = 0};
        x->nums[x->nnums++] = (struct verdict_num){"idle_connections", (double)idle};
        x->nums[x->nnums++] = (struct verdict_num){"longest_idle_ms", longest};
        x->nums[x->nnums++] = (struct verdict_num){"idle_threshold_ms", (double)vc->abandoned_ms};
        snprintf(x->why, sizeof x->why,
                 "the client %s holds %llu connections on which no byte has moved for %.0f ms "
                 "or more, both ends open: it opens connections and forgets them (a pool that "
                 "never returns them, a transaction left open); close what it no longer uses, "
                 "or bound the pool",
                 open[i].client, (unsigned long long)idle, (double)vc->abandoned_ms);
        clients_out[nout++] = i;
    }
    return nout;
}

bool verdict_rate_add(const struct verdict_cfg *vc, struct verdict_rate *r, double now_ms,
                      struct finding *out)
{
    if (!vc->on[VK_TIME_WAIT_PRESSURE] || vc->time_wait_per_minute == 0)
        return false;
    if (r->count == 0 || now_ms - r->window_start_ms >= 60000.0) {
        r->window_start_ms = now_ms;
        r->count = 0;
        r->reported = false;
    }
    r->count++;
    if (r->reported || r->count < vc->time_wait_per_minute)
        return false;
    r->reported = true;
    *out = (struct finding){.kind = VK_TIME_WAIT_PRESSURE, .side = VSIDE_CLIENT};
    out->nums[out->nnums++] = (struct verdict_num){"connections", (double)r->count};
    out->nums[out->nnums++] = (struct verdict_num){"window_ms", now_ms - r->window_start_ms};
    /* Linux's default ip_local_port_range, 32768-60999 */
    out->nums[out->nnums++] = (struct verdict_num){"share_of_ports", (double)r->count / 28232.0};
    snprintf(out->why, sizeof out->why,
             "the client closed %llu connections first within %.0f ms: each leaves a TIME_WAIT "
             "socket on the client for 60 s, %.0f%% of Linux's default 28232 ephemeral ports; "
             "reuse connections (keep-alive, a pool), or let the server close first",
             (unsigned long long)r->count, now_ms - r->window_start_ms,
             100.0 * (double)r->count / 28232.0);
    return true;
}
