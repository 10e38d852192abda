/* `intercept:` of a proxy: what it takes (ports, ranges, networks of both families, a uid or a
 * cgroup, the mode) is read into the model, an intercepting proxy needs no upstream, and every
 * mistake is reported at its line:column. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgcheck.h"
#include "check.h"
#include "rules/config.h"

#define HEAD "proxies:\n  - name: db\n    listen: :15432\n"

static struct config *load(const char *yaml)
{
    struct diag d;
    struct config *cfg = NULL;

    diag_init(&d);
    if (config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &d) != 0)
        diag_print(&d, stderr);
    diag_free(&d);
    CHECK(cfg != NULL);
    return cfg;
}

int main(void)
{
    struct config *cfg, *copy;
    const struct intercept_cfg *ic;

    cfg = load(HEAD "    intercept:\n      ports: [5432, 8000-8100]\n"
                    "      destinations: [10.0.0.0/8, 'fd00::/8']\n      uid: 1000\n");
    ic = &cfg->proxies[0].intercept;
    CHECK(ic->on);
    CHECK_EQ(ic->mode, INTERCEPT_REDIRECT);
    CHECK_EQ(ic->nports, 2);
    CHECK_EQ(ic->ports[0].first, 5432);
    CHECK_EQ(ic->ports[0].last, 5432);
    CHECK_EQ(ic->ports[1].first, 8000);
    CHECK_EQ(ic->ports[1].last, 8100);
    CHECK_EQ(ic->nnets, 2);
    CHECK_EQ(ic->nets[0].family, AF_INET);
    CHECK_EQ(ic->nets[0].prefixlen, 8);
    CHECK_EQ(ic->nets[1].family, AF_INET6);
    CHECK(ic->has_uid);
    CHECK_EQ(ic->uid, 1000);
    CHECK(!proxy_cfg_has_upstream(&cfg->proxies[0]));
    copy = config_copy(cfg);
    CHECK(copy && proxy_cfg_same(&cfg->proxies[0], &copy->proxies[0]));
    copy->proxies[0].intercept.ports[0].first = 5433;
    CHECK(!proxy_cfg_same(&cfg->proxies[0], &copy->proxies[0]));
    config_free(copy);
    config_free(cfg);
    TEST_PASS("ports, ranges, networks of both families, uid; no upstream needed");

    cfg = load(HEAD "    upstream: db.internal:5432\n"
                    "    intercept: {ports: 5432, mode: tproxy}\n");
    ic = &cfg->proxies[0].intercept;
    CHECK_EQ(ic->mode, INTERCEPT_TPROXY);
    CHECK_EQ(ic->nports, 1);
    CHECK(proxy_cfg_has_upstream(&cfg->proxies[0]));
    config_free(cfg);
    cfg = load(HEAD "    upstream: x:1\n");
    CHECK(!cfg->proxies[0].intercept.on);
    config_free(cfg);
    TEST_PASS("one port as a scalar, mode tproxy, an upstream beside it; none without");

    cfg_expect_error("proxies:\n  - name: db\n    listen: :1\n", 2, 5,
                     "missing required key 'upstream' (or 'intercept'");
    cfg_expect_error(HEAD "    intercept: {destinations: [10.0.0.0/8]}\n", 4, 16,
                     "missing required key 'ports' in intercept");
    cfg_expect_error(HEAD "    intercept: {ports: [5432, 0]}\n", 4, 31,
                     "invalid port range '0' (expected 1..65535");
    cfg_expect_error(HEAD "    intercept: {ports: [9-3]}\n", 4, 25, "invalid port range '9-3'");
    cfg_expect_error(HEAD "    intercept: {ports: [pg]}\n", 4, 25,
                     "expected a port like 5432 or a range like 8000-8100, got 'pg'");
    cfg_expect_error(HEAD "    intercept: {ports: []}\n", 4, 24,
                     "expected at least one value, got an empty list");
    cfg_expect_error(HEAD "    intercept: {ports: 1, destinations: [10.0.0.0/33]}\n", 4, 42,
                     "invalid network '10.0.0.0/33'");
    cfg_expect_error(HEAD "    intercept: {ports: 1, port: 2}\n", 4, 27,
                     "unknown key 'port' in intercept (did you mean 'ports'?)");
    cfg_expect_error(HEAD "    intercept: {ports: 1, mode: nat}\n", 4, 33,
                     "invalid value 'nat' (expected one of: redirect, tproxy)");
    cfg_expect_error(HEAD "    intercept: {ports: 1, mode: tproxy, uid: 0}\n", 4, 46,
                     "'uid' selects connections made in finwait's namespace (mode: redirect)");
    cfg_expect_error(HEAD "    intercept: {ports: 1, cgroup: 'app'}\n", 4, 35,
                     "invalid cgroup 'app' (expected a cgroup v2 path");
    cfg_expect_error(HEAD "    intercept: {ports: 1, uid: -1}\n", 4, 32,
                     "expected a numeric uid, got '-1'");
    cfg_expect_error("proxies:\n  - name: db\n    listen: 127.0.0.1:15432\n"
                     "    intercept: {ports: 1, destinations: ['fd00::/8']}\n",
                     4, 41, "destination fd00:: is IPv6 but the proxy listens on 127.0.0.1 only");
    cfg_expect_error(HEAD "    intercept: [5432]\n", 4, 16, "expected a mapping");
    cfg_expect_error("proxies:\n  - name: db\n    listen: 127.0.0.1:15432\n"
                     "    intercept: {ports: 1, mode: tproxy}\n",
                     3, 13, "mode: tproxy hands the listener connections addressed to other hosts");
    cfg_expect_error(HEAD "    upstream: x:1\n    faults:\n"
                          "      - {type: reset, match: {destination: 10.0.0.0/8}}\n",
                     6, 9, "match: destination is the original destination of an intercepted");
    cfg_expect_error(HEAD "    intercept: {ports: 1}\n    faults:\n"
                          "      - {type: reset, match: {dest: 10.0.0.0/8}}\n",
                     6, 31, "unknown key 'dest' in match (expected 'client' or 'destination')");
    TEST_PASS("every mistake at its line:column");
    return 0;
}
