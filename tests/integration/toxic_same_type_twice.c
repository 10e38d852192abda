/* Two toxics of one type on one stream with different names compose in order, as in
 * Toxiproxy's chain: two latencies of 150 ms delay a chunk by 300 ms. */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;
    int64_t t0;

    pair_start(
        &p, "[{type: latency, name: a, latency: 150}, {type: latency, name: b, latency: 150}]", "");
    pair_connect(&p, true);
    t0 = now_ms();
    CHECK_EQ(sk_write_pattern(p.s, 0, 1000, 1000), 0);
    r = sk_read_until_end(p.c, 3000, true, 1000);
    CHECK_UINT(r.bytes, ==, 1000);
    CHECK(r.pattern_ok);
    CHECK_INT(r.first_ms - t0, >=, 295);
    CHECK_INT(r.first_ms - t0, <, 1500);
    pair_stop(&p);
    TEST_PASS("two latency toxics with their own names add up");
    return 0;
}
