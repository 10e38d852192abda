/* Every kind of bad configuration gives its message at its line:column, all errors of a file
 * at once, and nothing is loaded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgcheck.h"
#include "check.h"
#include "rules/config.h"

#define P "proxies:\n  - name: a\n    listen: 127.0.0.1:1000\n    upstream: 127.0.0.1:80\n"

int main(void)
{
    cfg_expect_error("", 1, 1, "empty configuration: expected a mapping with 'proxies'");
    cfg_expect_error("proxies: [\n", 2, 1, "YAML syntax error");
    /* an unclosed quote is reported where it opens, not at the end of the file it swallowed */
    cfg_expect_error(
        "proxies:\n  - name: \"unclosed\n    listen: 127.0.0.1:0\n    upstream: x:1\n", 2, 11,
        "YAML syntax error: found unexpected end of stream at 5:1, while scanning a quoted "
        "scalar that starts here");
    cfg_expect_error("log: {format: 'json}\n" P, 1, 15,
                     "while scanning a quoted scalar that starts here");
    cfg_expect_error("log: {format: json\n" P, 1, 6,
                     "while parsing a flow mapping that starts here");
    cfg_expect_error("a:\n  - b\n c\n", 3, 2,
                     "did not find expected key while parsing a block mapping");
    cfg_expect_error("seed: 1\n", 1, 1, "missing required key 'proxies' (or 'admin'");
    cfg_expect_error("proxies: []\n", 1, 10, "no proxies: the list is empty (and no 'admin' API");
    cfg_expect_error("[]\n", 1, 1, "no proxies: the list is empty");
    cfg_expect_error("admin: {listen: 8474}\n", 1, 17, "invalid address '8474'");
    cfg_expect_error("admin: {lisen: ':8474'}\n", 1, 9,
                     "unknown key 'lisen' in admin (did you mean 'listen'?)");
    cfg_expect_error("admin: {}\n", 1, 8, "missing required key 'listen'");
    cfg_expect_error("proxies:\n  - name: a\n    listen: 127.0.0.1:1000\n    upsteam: x:1\n", 4, 5,
                     "unknown key 'upsteam' in proxy (did you mean 'upstream'?)");
    cfg_expect_error("proxies:\n  - name: a\n    listen: 127.0.0.1:1000\n    upsteam: x:1\n", 2, 5,
                     "missing required key 'upstream'");
    cfg_expect_error("proxies:\n  name: a\n", 2, 3, "expected a list of proxies, got a mapping");
    cfg_expect_error("proxies:\n  - name\n", 2, 5, "expected a mapping (check indentation)");
    cfg_expect_error("log: text\n" P, 1, 6, "expected a mapping (check indentation)");
    cfg_expect_error("proxies:\n  - {name: a, listen: localhost, upstream: x:1}\n", 2, 23,
                     "invalid address 'localhost' (expected host:port, [v6]:port or :port)");
    cfg_expect_error("proxies:\n  - {name: a, listen: ':99999', upstream: x:1}\n", 2, 23,
                     "invalid port in ':99999' (expected 0..65535)");
    cfg_expect_error("proxies:\n  - {name: a, listen: ':1', upstream: 'x:0'}\n", 2, 39,
                     "invalid port in 'x:0' (expected 1..65535)");
    cfg_expect_error("proxies:\n  - {name: a, listen: ':1', upstream: '::1:80'}\n", 2, 39,
                     "invalid address '::1:80'");
    cfg_expect_error(P "    half_close_probe: 500ms\n", 5, 23,
                     "half_close_probe must be 0 (off) or at least 1s");
    cfg_expect_error(P "    connect_timeout: soon\n", 5, 22,
                     "expected a duration like 250ms, 2s or 1m, got 'soon'");
    cfg_expect_error(P "  - name: a\n    listen: 127.0.0.1:1001\n    upstream: x:1\n", 5, 11,
                     "duplicate proxy name 'a' (first defined at 2:5)");
    cfg_expect_error(P "  - name: b\n    listen: 127.0.0.1:1000\n    upstream: x:1\n", 6, 13,
                     "listen address 127.0.0.1:1000 is already used by proxy 'a'");
    cfg_expect_error("log: {level: loud}\n" P, 1, 14,
                     "invalid value 'loud' (expected one of: error, warn, info, debug)");
    cfg_expect_error(P "    name: b\n", 5, 5, "duplicate key 'name'");
    cfg_expect_error("seed: -1\n" P, 1, 7, "expected an unsigned integer, got '-1'");
    TEST_PASS("structure, addresses, durations, duplicates");

    cfg_expect_error(
        P "    faults:\n      - type: delay_fn\n", 6, 15,
        "unknown fault type 'delay_fn' (did you mean 'delay_fin'?); valid types: delay_fin, "
        "rst_instead_of_fin");
    cfg_expect_error(P "    faults:\n      - {direction: upstream}\n", 6, 9,
                     "missing required key 'type'");
    cfg_expect_error(P "    faults:\n      - {type: delay_fin}\n", 6, 9,
                     "missing required key 'delay' for fault type 'delay_fin'");
    cfg_expect_error(
        P "    faults:\n      - {type: delay_fin, delay: 1s, rate: 5}\n", 6, 38,
        "parameter 'rate' does not belong to fault type 'delay_fin' (allowed: direction, "
        "delay, name, probability, match, connections, for)");
    cfg_expect_error(P "    faults:\n      - {type: latency, latency: 1, connections: old}\n", 6,
                     50, "expected 'new' or 'all' for connections, got 'old'");
    cfg_expect_error(P "    faults:\n      - {type: delay_fin, delay: 1s, direction: sideways}\n",
                     6, 49,
                     "invalid value 'sideways' (expected one of: upstream, downstream, both)");
    cfg_expect_error(P "    faults:\n      - {type: delay_fin, delay: 1s, probability: 1.5}\n", 6,
                     51, "expected a number between 0 and 1, got '1.5'");
    cfg_expect_error(P "    faults:\n      - {type: bandwidth, rate: 0}\n", 6, 33,
                     "expected a positive number, got '0'");
    cfg_expect_error(P "    faults:\n      - {type: reset, after: 1s, after_bytes: 10}\n", 6, 47,
                     "give either 'after' or 'after_bytes', not both");
    cfg_expect_error(P "    faults:\n      - {type: reset}\n", 6, 9,
                     "missing required key 'after' or 'after_bytes'");
    cfg_expect_error(
        P "    faults:\n      - {type: latency, stream: upstream, direction: upstream}\n", 6, 43,
        "give either 'stream' or 'direction', not both");
    cfg_expect_error(P "    faults:\n      - {type: delay_fin, delay: 1s, toxicity: 0.5}\n", 6, 38,
                     "parameter 'toxicity' does not belong to fault type 'delay_fin'");
    cfg_expect_error(P "    faults:\n      - {type: drop_fin, leg: client, from: peer, count: 0}\n",
                     6, 58, "expected a count (1 or more) or 'all', got '0'");
    cfg_expect_error(P
                     "    faults:\n      - {type: slicer, average_size: 10, size_variation: 10}\n",
                     6, 58, "size_variation (10) must be smaller than average_size (10)");
    cfg_expect_error(
        P "    faults:\n      - {type: delay_fin, delay: 1s, match: {client: 10.0.0.0/33}}\n", 6,
        54, "invalid network '10.0.0.0/33'");
    TEST_PASS("fault types and parameters");

    cfg_expect_error(
        P "    faults:\n      - {type: refuse}\n      - {type: latency}\n", 7, 9,
        "'refuse' ends every connection at accept: it cannot be combined with 'latency'");
    cfg_expect_error(
        P "    faults:\n      - {type: delay_fin, delay: 1s, direction: upstream}\n"
          "      - {type: rst_instead_of_fin}\n",
        7, 9, "'delay_fin' and 'rst_instead_of_fin' both decide what happens to the upstream FIN");
    cfg_expect_error(P "    faults:\n      - {type: latency, stream: downstream}\n"
                       "      - {type: latency, latency: 5, direction: both}\n",
                     7, 9, "two 'latency' faults act on the same direction (downstream)");
    TEST_PASS("combinations that make no sense");

    /* all errors of a file, not only the first */
    {
        const char *y = "proxies:\n  - {name: a, listen: x, upstream: y}\n  - {nme: b}\n";
        struct config *cfg;
        struct diag d;
        char *out;
        size_t len;
        FILE *f;

        diag_init(&d);
        CHECK_EQ(config_load_string("t.yaml", y, strlen(y), &cfg, &d), -1);
        CHECK_UINT(d.n, >=, 5); /* listen, upstream, unknown nme, missing name/listen/upstream */
        f = open_memstream(&out, &len);
        diag_print(&d, f);
        fclose(f);
        CHECK_CONTAINS(out, "t.yaml:2:23: error: invalid address 'x'");
        CHECK_CONTAINS(out, "  - {name: a, listen: x, upstream: y}\n                        ^\n");
        CHECK_CONTAINS(out, "t.yaml:3:6: error: unknown key 'nme' in proxy (did you mean 'name'?)");
        free(out);
        diag_free(&d);
    }
    TEST_PASS("every error reported, with source line and caret");
    return 0;
}
