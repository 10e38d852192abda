/* A proxy's `verdicts:` block: defaults, thresholds, switching kinds off, and errors at their
 * line:column. */
#include <stdio.h>
#include <string.h>

#include "cfgcheck.h"
#include "check.h"
#include "rules/config.h"

#define P "proxies:\n  - name: a\n    listen: 127.0.0.1:1000\n    upstream: 127.0.0.1:80\n"

static struct config *load(const char *yaml)
{
    struct config *cfg = NULL;
    struct diag d;

    diag_init(&d);
    if (config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &d) != 0) {
        diag_print(&d, stderr);
        exit(1);
    }
    diag_free(&d);
    return cfg;
}

int main(void)
{
    struct config *cfg = load(P);
    const struct verdict_cfg *vc = &cfg->proxies[0].verdicts;

    for (int k = 0; k < VK_COUNT; k++)
        CHECK(vc->on[k]);
    CHECK_EQ(vc->peer_keeps_closed_ms, 5000);
    CHECK_EQ(vc->close_wait_leak_ms, 60000);
    CHECK_EQ(vc->request_into_closed_ms, 10);
    CHECK_EQ(vc->answer_lost_ms, 100);
    CHECK_EQ(vc->abandoned_ms, 60000);
    CHECK_EQ(vc->abandoned_count, 10);
    CHECK_EQ(vc->time_wait_per_minute, 2500);
    CHECK_EQ(vc->retry_within_ms, 5000);
    CHECK_EQ(vc->hung_after_ms, 10000);
    config_free(cfg);

    cfg = load(P "    verdicts:\n      peer_keeps_closed: 2s\n      close_wait_leak: off\n"
                 "      answer_lost: false\n      abandoned: 5m\n      abandoned_count: 3\n"
                 "      time_wait_pressure: 100\n      retry_within: 2s\n      hung_after: 30s\n");
    vc = &cfg->proxies[0].verdicts;
    CHECK_EQ(vc->peer_keeps_closed_ms, 2000);
    CHECK(!vc->on[VK_CLOSE_WAIT_LEAK]);
    CHECK(!vc->on[VK_ANSWER_LOST]);
    CHECK(vc->on[VK_HALF_CLOSE_IGNORED]);
    CHECK_EQ(vc->abandoned_ms, 300000);
    CHECK_EQ(vc->abandoned_count, 3);
    CHECK_EQ(vc->time_wait_per_minute, 100);
    CHECK_EQ(vc->retry_within_ms, 2000);
    CHECK_EQ(vc->hung_after_ms, 30000);
    config_free(cfg);

    /* enabled: false switches every kind off, wherever it is written; named ones come back */
    cfg = load(P "    verdicts:\n      answer_lost: on\n      enabled: false\n");
    vc = &cfg->proxies[0].verdicts;
    for (int k = 0; k < VK_COUNT; k++)
        CHECK_EQ(vc->on[k], k == VK_ANSWER_LOST);
    config_free(cfg);

    cfg_expect_error(P "    verdicts:\n      peer_keep_closed: 5s\n", 6, 7,
                     "unknown key 'peer_keep_closed' in verdicts (did you mean "
                     "'peer_keeps_closed'?)");
    cfg_expect_error(P "    verdicts:\n      half_close_ignored: 5s\n", 6, 27,
                     "expected on or off, got '5s'");
    cfg_expect_error(P "    verdicts:\n      close_wait_leak: soon\n", 6, 24,
                     "expected a duration like 250ms, 2s or 1m, got 'soon'");
    cfg_expect_error(P "    verdicts:\n      abandoned: 0s\n", 6, 18,
                     "'abandoned' must be more than 0 (write 'off' to switch it off)");
    cfg_expect_error(P "    verdicts:\n      abandoned_count: off\n", 6, 24,
                     "'abandoned_count' takes a number");
    cfg_expect_error(P "    verdicts:\n      hung_after: on\n", 6, 19,
                     "'hung_after' takes a duration, got 'on'");
    cfg_expect_error(P "    verdicts: [1]\n", 5, 15, "expected a mapping");
    printf("ok\n");
    return 0;
}
