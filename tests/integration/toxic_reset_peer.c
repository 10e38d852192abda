/* reset_peer (Toxiproxy): the client is reset `timeout` ms after connect, idle or not; with
 * toxicity 0 it never is (Toxiproxy resets anyway: its issue #603). */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;
    int64_t t0;

    pair_start(&p, "[{type: reset_peer, timeout: 300}]", "");
    t0 = now_ms();
    pair_connect(&p, true);
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK_INT(r.end_ms - t0, >=, 290);
    CHECK_INT(r.end_ms - t0, <, 2000);
    CHECK_STR(sk_end_name(sk_read_until_end(p.s, 3000, false, 0).end), "EOF");
    pair_stop(&p);
    TEST_PASS("reset_peer 300: idle client reset");

    pair_start(&p, "[{type: reset_peer, timeout: 100, toxicity: 0}]", "");
    pair_connect(&p, true);
    CHECK(sk_silent(p.c, 500));
    CHECK_EQ(sk_write_all(p.s, "alive", 5, 1000), 0);
    CHECK_UINT(sk_read_n(p.c, 5, 1000).bytes, ==, 5);
    pair_stop(&p);
    TEST_PASS("reset_peer with toxicity 0 resets nothing");
    return 0;
}
