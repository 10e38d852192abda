/* Numbers that do not fit are refused at their line:column, never wrapped or truncated into a
 * different value: durations, sizes, rates, counts, ports, prefixes, probabilities, the seed.
 * (A 20-digit idle_timeout used to load as "no timeout", a huge latency as 1 ms.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgcheck.h"
#include "check.h"
#include "rules/config.h"

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

#define P "proxies:\n  - name: a\n    listen: 127.0.0.1:1000\n    upstream: 127.0.0.1:80\n"
#define F P "    faults:\n      - "

int main(void)
{
    struct config *cfg;

    /* the two cases of the issue */
    cfg_expect_error(P "    idle_timeout: 99999999999999999999\n", 5, 19, "too large");
    cfg_expect_error(F "{type: latency, latency: 18446744073709552}\n", 6, 34, "too large");
    /* every duration key, bare and with each unit */
    cfg_expect_error(P "    connect_timeout: 18446744073709551616ms\n", 5, 22, "too large");
    cfg_expect_error(P "    connect_timeout: 9999999999999999h\n", 5, 22, "too large");
    cfg_expect_error("shutdown_timeout: 99999999999999999999s\n" P, 1, 19, "too large");
    cfg_expect_error(F "{type: delay_fin, delay: 1e400}\n", 6, 34, "expected a duration");
    cfg_expect_error(F "{type: delay_fin, delay: 0x10ms}\n", 6, 34, "expected a duration");
    cfg_expect_error(F "{type: delay_fin, delay: 18446744073709551615}\n", 6, 34, "too large");
    cfg_expect_error(F "{type: slicer, average_size: 10, delay: 18446744073709551616}\n", 6, 49,
                     "too large");
    /* what fuzz_config found in the unfixed loader after 420,000 inputs (float-cast-overflow) */
    cfg_expect_error(F "{type: slicer, average_size: 64, delay: 1184467440737095516150000}\n", 6,
                     49, "too large");
    cfg_expect_error(F "{type: latency, jitter: 99999999999h}\n", 6, 33, "too large");
    cfg_expect_error(F "{type: timeout, timeout: 100000000000000000000ms}\n", 6, 34, "too large");
    cfg_expect_error(F "{type: reset, after: 1.00000000000000000000000001e30s}\n", 6, 30,
                     "expected a duration");
    TEST_PASS("durations that do not fit are refused, not wrapped");

    /* sizes and rates: the relay multiplies rates by 1000 and adds slicer variations */
    cfg_expect_error(F "{type: bandwidth, rate: 18446744073709551615}\n", 6, 33, "too large");
    cfg_expect_error(F "{type: slicer, average_size: 18446744073709551615}\n", 6, 38, "too large");
    cfg_expect_error(F "{type: limit_data, bytes: 18446744073709551616}\n", 6, 35, "too large");
    cfg_expect_error(F "{type: reset, after_bytes: 99999999999999999999}\n", 6, 36, "too large");
    cfg_expect_error(F "{type: drop_fin, leg: client, from: peer, count: 4294967296}\n", 6, 58,
                     "too large");
    cfg_expect_error(F "{type: drop_fin, leg: client, from: peer, count: 99999999999999999999}\n",
                     6, 58, "too large");
    cfg_expect_error("seed: 18446744073709551616\n" P, 1, 7, "too large");
    cfg_expect_error("proxies:\n  - {name: a, listen: ':18446744073709551617', upstream: x:1}\n", 2,
                     23, "invalid port");
    cfg_expect_error(
        F "{type: delay_fin, delay: 1s, match: {client: 10.0.0.0/18446744073709551648}}\n", 6, 54,
        "invalid network");
    cfg_expect_error(F "{type: delay_fin, delay: 1s, probability: 1e400}\n", 6, 51,
                     "expected a number between 0 and 1");
    cfg_expect_error(F "{type: delay_fin, delay: 1s, probability: nan}\n", 6, 51,
                     "expected a number between 0 and 1");
    TEST_PASS("sizes, rates, counts, ports, prefixes, probabilities and the seed");

    /* the largest values that do fit still load, exactly */
    cfg = load("seed: 18446744073709551615\n" P "    idle_timeout: 8760h\n"
               "    faults:\n      - {type: latency, latency: 31536000000, jitter: 1.5ms}\n"
               "      - {type: slicer, average_size: 1000000000000000, delay: 1.25ms, "
               "stream: upstream}\n"
               "      - {type: drop_fin, leg: client, from: peer, count: 4294967294}\n");
    CHECK_UINT(cfg->seed, ==, UINT64_MAX);
    CHECK_UINT(cfg->proxies[0].idle_timeout_ms, ==, 8760ull * 3600 * 1000);
    CHECK_UINT(cfg->proxies[0].faults[0].latency_ms, ==, 31536000000ull);
    CHECK_UINT(cfg->proxies[0].faults[0].jitter_ms, ==, 2); /* rounded up to whole ms */
    CHECK_UINT(cfg->proxies[0].faults[1].average_size, ==, 1000000000000000ull);
    CHECK_UINT(cfg->proxies[0].faults[1].delay_us, ==, 1250);
    CHECK_UINT(cfg->proxies[0].faults[2].count, ==, 4294967294u);
    config_free(cfg);
    TEST_PASS("the largest values that fit load exactly");
    return 0;
}
