/* Fault decisions: probability is the share of connections, a seed makes the choices
 * repeatable, match limits a fault to a client network. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "rules/fault.h"

static struct sockaddr_in v4(const char *a)
{
    struct sockaddr_in s = {.sin_family = AF_INET};
    CHECK(inet_pton(AF_INET, a, &s.sin_addr) == 1);
    return s;
}

static struct sockaddr_in6 v6(const char *a)
{
    struct sockaddr_in6 s = {.sin6_family = AF_INET6};
    CHECK(inet_pton(AF_INET6, a, &s.sin6_addr) == 1);
    return s;
}

int main(void)
{
    struct fault faults[3] = {
        {.type = FAULT_DELAY_FIN, .probability = 0.5},
        {.type = FAULT_LATENCY, .probability = 1.0},
        {.type = FAULT_RESET, .probability = 0.0},
    };
    struct proxy_cfg p = {.name = "web", .faults = faults, .nfaults = 3};
    struct fault_rng a, b, c;
    struct sockaddr_in cl = v4("127.0.0.1");
    uint64_t masks[1000];
    int half = 0, differ = 0;

    fault_rng_seed(&a, 42, "web");
    fault_rng_seed(&b, 42, "web");
    fault_rng_seed(&c, 43, "web");
    for (int i = 0; i < 1000; i++) {
        masks[i] = fault_decide(&p, &a, (struct sockaddr *)&cl);
        CHECK_UINT(fault_decide(&p, &b, (struct sockaddr *)&cl), ==, masks[i]);
        if (fault_decide(&p, &c, (struct sockaddr *)&cl) != masks[i])
            differ++;
        CHECK(masks[i] & 2);    /* probability 1: always */
        CHECK(!(masks[i] & 4)); /* probability 0: never */
        half += (int)(masks[i] & 1);
    }
    CHECK_INT(half, >=, 430);
    CHECK_INT(half, <=, 570);
    CHECK_INT(differ, >, 100);
    TEST_PASS("probability 0.5 applies to about half; same seed, same choices");

    /* the n-th decision does not depend on who connects */
    {
        struct sockaddr_in other = v4("10.1.2.3");
        fault_rng_seed(&a, 42, "web");
        for (int i = 0; i < 1000; i++)
            CHECK_UINT(fault_decide(&p, &a, (struct sockaddr *)&other) & 1, ==, masks[i] & 1);
    }
    /* proxies draw from their own sequences */
    fault_rng_seed(&a, 42, "web");
    fault_rng_seed(&b, 42, "api");
    CHECK(fault_rng_next(&a) != fault_rng_next(&b));
    TEST_PASS("decisions depend on seed and order only");

    {
        struct cidr net;
        struct sockaddr_in in = v4("10.20.30.40"), out = v4("11.0.0.1");
        struct sockaddr_in6 in6 = v6("fd00::5"), mapped = v6("::ffff:10.9.9.9"),
                            out6 = v6("fe80::1");

        memset(&net, 0, sizeof net);
        net.family = AF_INET;
        inet_pton(AF_INET, "10.0.0.0", net.addr);
        net.prefixlen = 8;
        CHECK(cidr_contains(&net, (struct sockaddr *)&in));
        CHECK(!cidr_contains(&net, (struct sockaddr *)&out));
        CHECK(cidr_contains(&net, (struct sockaddr *)&mapped));
        CHECK(!cidr_contains(&net, (struct sockaddr *)&in6));
        net.family = AF_INET6;
        memset(net.addr, 0, sizeof net.addr);
        inet_pton(AF_INET6, "fd00::", net.addr);
        net.prefixlen = 8;
        CHECK(cidr_contains(&net, (struct sockaddr *)&in6));
        CHECK(!cidr_contains(&net, (struct sockaddr *)&out6));
        net.prefixlen = 0;
        CHECK(cidr_contains(&net, (struct sockaddr *)&out6));

        faults[1].has_match = true;
        faults[1].match_client.family = AF_INET;
        memset(faults[1].match_client.addr, 0, 16);
        inet_pton(AF_INET, "10.0.0.0", faults[1].match_client.addr);
        faults[1].match_client.prefixlen = 8;
        fault_rng_seed(&a, 1, "web");
        CHECK(fault_decide(&p, &a, (struct sockaddr *)&in) & 2);
        CHECK(!(fault_decide(&p, &a, (struct sockaddr *)&out) & 2));
    }
    TEST_PASS("match: client CIDR, IPv4, IPv6 and v4-mapped");

    /* A fault attached to an open connection: one draw, the same as fault_decide's for that
     * position, so a seeded run repeats; match is checked after the draw. */
    {
        struct sockaddr_in in = v4("10.20.30.40"), out = v4("11.0.0.1");
        int hits = 0;

        fault_rng_seed(&a, 7, "web");
        fault_rng_seed(&b, 7, "web");
        for (int i = 0; i < 1000; i++) {
            bool one = fault_decide_one(&faults[0], &a, (struct sockaddr *)&cl);
            CHECK_INT(one, ==, fault_rng_next(&b) < 0.5);
            hits += one;
        }
        CHECK_INT(hits, >=, 430);
        CHECK_INT(hits, <=, 570);
        fault_rng_seed(&a, 7, "web");
        fault_rng_seed(&b, 7, "web");
        CHECK(fault_decide_one(&faults[1], &a, (struct sockaddr *)&in));
        CHECK(!fault_decide_one(&faults[1], &a, (struct sockaddr *)&out));
        CHECK(!fault_decide_one(&faults[2], &a, (struct sockaddr *)&in));
        fault_rng_next(&b);
        fault_rng_next(&b);
        fault_rng_next(&b);
        CHECK(fault_rng_next(&a) == fault_rng_next(&b)); /* one draw each, whatever the outcome */
    }
    TEST_PASS("fault_decide_one: one draw, probability and match");

    /* match: {destination}: the original destination of an intercepted connection; an
     * addressed connection (no destination) never matches it */
    {
        struct fault f = {.type = FAULT_RESET, .probability = 1.0, .has_match_dest = true};
        struct sockaddr_in in = v4("10.20.30.40"), out = v4("11.0.0.1");
        struct sockaddr_in6 in6 = v6("::ffff:10.1.2.3");
        struct fault_decision d;
        char why[200];

        CHECK(inet_pton(AF_INET, "10.0.0.0", f.match_dest.addr) == 1);
        f.match_dest.family = AF_INET;
        f.match_dest.prefixlen = 8;
        fault_rng_seed(&a, 7, "web");
        CHECK(fault_decide_one_at(&f, &a, (struct sockaddr *)&cl, (struct sockaddr *)&in, &d));
        CHECK(fault_decide_one_at(&f, &a, (struct sockaddr *)&cl, (struct sockaddr *)&in6, &d));
        CHECK(!fault_decide_one_at(&f, &a, (struct sockaddr *)&cl, (struct sockaddr *)&out, &d));
        CHECK_STR(fault_decision_text_at(&f, &d, (struct sockaddr *)&cl, (struct sockaddr *)&out,
                                         why, sizeof why),
                  "match: destination 11.0.0.1 is not in 10.0.0.0/8");
        CHECK(!fault_decide_one_at(&f, &a, (struct sockaddr *)&cl, NULL, &d));
        CHECK_STR(fault_decision_text_at(&f, &d, (struct sockaddr *)&cl, NULL, why, sizeof why),
                  "match: the connection was not intercepted");
    }
    TEST_PASS("match: destination");
    return 0;
}
