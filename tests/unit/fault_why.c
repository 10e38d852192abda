/* Why a fault did not apply: the decision keeps the draw and the match's outcome, the same
 * draws as without it, and says every unmet condition in words. */
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

static void set_match(struct fault *f, int family, const char *net, unsigned prefixlen)
{
    f->has_match = true;
    memset(&f->match_client, 0, sizeof f->match_client);
    f->match_client.family = family;
    CHECK(inet_pton(family, net, f->match_client.addr) == 1);
    f->match_client.prefixlen = prefixlen;
}

int main(void)
{
    struct fault faults[4] = {
        {.type = FAULT_DELAY_FIN, .name = "ten", .probability = 1.0},
        {.type = FAULT_RESET, .name = "never", .probability = 0.0},
        {.type = FAULT_LATENCY, .name = "half", .probability = 0.5},
        {.type = FAULT_CLOSE, .name = "both", .probability = 0.0},
    };
    struct proxy_cfg p = {.name = "web", .faults = faults, .nfaults = 4};
    struct sockaddr_in lo = v4("127.0.0.1"), ten = v4("10.1.2.3");
    struct fault_decision why[4];
    struct fault_rng a, b;
    char text[256];

    set_match(&faults[0], AF_INET, "10.0.0.0", 8);
    set_match(&faults[3], AF_INET, "10.0.0.0", 8);

    /* the same draws with and without the reasons: a seeded run does not change */
    fault_rng_seed(&a, 9, "web");
    fault_rng_seed(&b, 9, "web");
    for (int i = 0; i < 200; i++) {
        uint64_t m = fault_decide_why(&p, &a, (struct sockaddr *)&lo, why);
        CHECK_UINT(m, ==, fault_decide(&p, &b, (struct sockaddr *)&lo));
        for (int k = 0; k < 4; k++)
            CHECK_INT(fault_decision_applies(&why[k]), ==, (m >> k) & 1);
        CHECK(!why[0].matched);
        CHECK(why[0].drawn); /* probability 1: the match alone said no */
        CHECK(!why[1].drawn);
        CHECK(why[1].matched); /* no match: matched */
        CHECK_INT(why[2].drawn, ==, why[2].draw < 0.5);
        CHECK(why[2].draw >= 0 && why[2].draw < 1);
    }
    TEST_PASS("fault_decide_why: same draws and mask as fault_decide, each fault's outcome");

    fault_rng_seed(&a, 9, "web");
    fault_decide_why(&p, &a, (struct sockaddr *)&lo, why);
    CHECK_STR(fault_decision_text(&faults[0], &why[0], (struct sockaddr *)&lo, text, sizeof text),
              "match: client 127.0.0.1 is not in 10.0.0.0/8");
    fault_decision_text(&faults[1], &why[1], (struct sockaddr *)&lo, text, sizeof text);
    CHECK_CONTAINS(text, "probability 0: drew 0.");
    CHECK_CONTAINS(text, "(never applies)");
    CHECK(!strstr(text, "match"));
    /* both unmet: both said, the match first */
    fault_decision_text(&faults[3], &why[3], (struct sockaddr *)&lo, text, sizeof text);
    CHECK(strncmp(text, "match: client 127.0.0.1 is not in 10.0.0.0/8; probability 0: drew ",
                  strlen("match: client 127.0.0.1 is not in 10.0.0.0/8; probability 0: drew ")) ==
          0);
    TEST_PASS("fault_decision_text: the match and the draw, in words");

    /* the draw printed is the one made: a probability 0.5 fault that did not apply drew >= 0.5 */
    fault_rng_seed(&a, 3, "web");
    for (int i = 0; i < 50; i++) {
        struct fault_decision d;
        double shown;
        if (fault_decide_one_why(&faults[2], &a, (struct sockaddr *)&ten, &d))
            continue;
        fault_decision_text(&faults[2], &d, (struct sockaddr *)&ten, text, sizeof text);
        CHECK_CONTAINS(text, "probability 0.5: drew ");
        shown = strtod(strstr(text, "drew ") + 5, NULL);
        CHECK_DBL(shown, >=, 0.5);
        CHECK_DBL(shown - d.draw, <, 1e-6);
        CHECK_DBL(d.draw - shown, <, 1e-6);
    }
    /* a tiny buffer is cut, never overrun */
    fault_decision_text(&faults[3], &why[3], (struct sockaddr *)&lo, text, 8);
    CHECK_STR(text, "match: ");
    TEST_PASS("fault_decide_one_why: the draw it shows is the draw it made");
    return 0;
}
