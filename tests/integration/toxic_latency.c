/* latency (Toxiproxy): bytes from the server arrive `latency` +- `jitter` ms later, in order;
 * the FIN waits behind them. */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;
    int64_t t0;

    pair_start(&p, "[{type: latency, latency: 300, jitter: 50, stream: downstream}]", "");
    pair_connect(&p, true);
    for (int i = 0; i < 3; i++) {
        t0 = now_ms();
        CHECK_EQ(sk_write_pattern(p.s, 0, 1000, 1000), 0);
        r = sk_read_n(p.c, 1000, 3000);
        CHECK_UINT(r.bytes, ==, 1000);
        CHECK_INT(r.first_ms - t0, >=, 245);
        CHECK_INT(r.first_ms - t0, <, 1500);
    }
    /* upstream is not delayed */
    t0 = now_ms();
    CHECK_EQ(sk_write_all(p.c, "up", 2, 1000), 0);
    r = sk_read_n(p.s, 2, 1000);
    CHECK_INT(r.end_ms - t0, <, 200);
    /* the FIN comes after the delayed bytes */
    CHECK_EQ(sk_write_pattern(p.s, 0, 500, 1000), 0);
    sk_shut_wr(p.s);
    t0 = now_ms();
    r = sk_read_until_end(p.c, 3000, true, 0);
    CHECK_UINT(r.bytes, ==, 500);
    CHECK(r.pattern_ok);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - t0, >=, 245);
    pair_stop(&p);
    TEST_PASS("latency 300ms +- 50ms downstream");
    return 0;
}
