/* `for:` on a fault: a duration as `after` takes it, more than 0, at most a year; errors at
 * the value's line:column. A changed `for` is a changed fault (a reload restarts its clock).
 * config_copy and config_drop_fault, which finwait uses to take a fault that ran out out of
 * the running configuration. */
#include <stdio.h>
#include <string.h>

#include "cfgcheck.h"
#include "check.h"
#include "rules/config.h"

#define P "proxies:\n  - name: a\n    listen: 127.0.0.1:1000\n    upstream: 127.0.0.1:80\n"

/* `for: VALUE` on a latency fault: the error is at the value. */
static void expect_for(const char *value, const char *text)
{
    static const char prefix[] = "      - {type: latency, latency: 100, for: ";
    char yaml[512];

    snprintf(yaml, sizeof yaml, P "    faults:\n%s%s}\n", prefix, value);
    cfg_expect_error(yaml, 6, (unsigned)sizeof prefix, text);
}

static struct config *load(const char *yaml)
{
    struct config *cfg = NULL;
    struct diag d;

    diag_init(&d);
    if (config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &d) != 0)
        diag_print(&d, stderr);
    diag_free(&d);
    CHECK(cfg != NULL);
    return cfg;
}

int main(void)
{
    struct config *cfg, *other, *copy;

    expect_for("0", "'for' must be more than 0");
    expect_for("0s", "'for' must be more than 0");
    expect_for("soon", "expected a duration like 250ms, 2s or 1m, got 'soon'");
    expect_for("-1s", "expected a duration like 250ms, 2s or 1m, got '-1s'");
    expect_for("1.5", "expected a duration like 250ms, 2s or 1m, got '1.5'");
    expect_for("forever", "expected a duration like 250ms, 2s or 1m, got 'forever'");
    expect_for("8761h", "duration '8761h' is too large (at most 8760h (a year))");
    expect_for("[1s]", "expected a duration like 250ms, 2s or 1m, got a list");
    cfg_expect_error(P "    faults:\n      - {type: delay_fin, delay: 1s, for: 1s, for: 2s}\n", 6,
                     47, "duplicate key 'for'");
    cfg_expect_error(P "    faults:\n      - {type: reset, after: 1s, forr: 1s}\n", 6, 34,
                     "unknown key 'forr' in fault 'reset' (did you mean 'for'?)");
    TEST_PASS("bad for values: errors at the value, as for after");

    cfg = load(P "    faults:\n"
                 "      - {type: latency, latency: 100, for: 30s}\n"
                 "      - {type: reset, name: r, after: 5s, for: 1500}\n"
                 "      - {type: drop_fin, leg: client, from: peer, for: 1h}\n"
                 "      - {type: delay_fin, delay: forever, name: d}\n");
    CHECK_UINT(cfg->proxies[0].faults[0].for_ms, ==, 30000);
    CHECK_UINT(cfg->proxies[0].faults[1].for_ms, ==, 1500); /* a bare number is milliseconds */
    CHECK_UINT(cfg->proxies[0].faults[2].for_ms, ==, 3600000);
    CHECK_UINT(cfg->proxies[0].faults[3].for_ms, ==, 0); /* none: it stays */
    TEST_PASS("for on any fault type, in milliseconds; a bare number is milliseconds");

    other = load(P "    faults:\n"
                   "      - {type: latency, latency: 100, for: 31s}\n"
                   "      - {type: reset, name: r, after: 5s, for: 1500ms}\n"
                   "      - {type: drop_fin, leg: client, from: peer, for: 60m}\n"
                   "      - {type: delay_fin, delay: forever, name: d}\n");
    CHECK(!fault_same(&cfg->proxies[0].faults[0], &other->proxies[0].faults[0]));
    CHECK(fault_same(&cfg->proxies[0].faults[1], &other->proxies[0].faults[1]));
    CHECK(fault_same(&cfg->proxies[0].faults[2], &other->proxies[0].faults[2]));
    TEST_PASS("a fault whose for changed is a changed fault; the same time written otherwise "
              "is not");

    copy = config_copy(cfg);
    CHECK(copy != NULL);
    CHECK(copy->proxies != cfg->proxies && copy->proxies[0].faults != cfg->proxies[0].faults);
    CHECK(proxy_cfg_same(&copy->proxies[0], &cfg->proxies[0]));
    CHECK_STR(copy->source, cfg->source);
    CHECK_STR(copy->proxies[0].name, "a");
    config_drop_fault(copy, 0, 1);
    CHECK_UINT(copy->proxies[0].nfaults, ==, 3);
    CHECK_STR(copy->proxies[0].faults[0].name, "latency");
    CHECK_STR(copy->proxies[0].faults[1].name, "drop_fin");
    CHECK_STR(copy->proxies[0].faults[2].name, "d");
    CHECK(fault_same(&copy->proxies[0].faults[2], &cfg->proxies[0].faults[3]));
    CHECK_UINT(cfg->proxies[0].nfaults, ==, 4); /* the original is untouched */
    config_drop_fault(copy, 0, 2);
    config_drop_fault(copy, 0, 0);
    config_drop_fault(copy, 0, 0);
    CHECK_UINT(copy->proxies[0].nfaults, ==, 0);
    TEST_PASS("config_copy is deep and equal; config_drop_fault takes one fault out, in order");

    config_free(copy);

    /* a proxy without faults (none to copy from) next to one with: found by fuzz_config under
     * UBSan (memcpy from NULL) */
    config_free(other);
    other = load(P "  - {name: b, listen: 127.0.0.1:1001, upstream: 127.0.0.1:80,\n"
                   "     faults: [{type: latency, latency: 1, for: 1s}]}\n");
    copy = config_copy(other);
    CHECK(copy != NULL);
    CHECK_UINT(copy->proxies[0].nfaults, ==, 0);
    CHECK(proxy_cfg_same(&copy->proxies[0], &other->proxies[0]));
    CHECK(proxy_cfg_same(&copy->proxies[1], &other->proxies[1]));
    config_free(copy);
    TEST_PASS("config_copy of a proxy without faults");
    config_free(other);
    config_free(cfg);
    return 0;
}
