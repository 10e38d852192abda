/* slicer (Toxiproxy): the server's bytes in slices of average_size +- size_variation, `delay`
 * microseconds apart: 2000 bytes in 100-byte slices 20 ms apart take >= 19 * 20 ms. */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;
    int64_t t0;
    int reads = 0;
    uint64_t got = 0;

    pair_start(&p, "[{type: slicer, average_size: 100, size_variation: 0, delay: 20000}]", "");
    pair_connect(&p, true);
    t0 = now_ms();
    CHECK_EQ(sk_write_pattern(p.s, 0, 2000, 1000), 0);
    while (got < 2000) {
        r = sk_read_n(p.c, 2000 - got, 3000); /* returns as soon as a slice arrives? no: n */
        got += r.bytes;
        reads++;
        if (r.end != SK_TIMEOUT || r.bytes == 0)
            break;
    }
    CHECK_UINT(got, ==, 2000);
    CHECK_INT(now_ms() - t0, >=, 370);
    CHECK_INT(now_ms() - t0, <, 3000);
    (void)reads;
    pair_stop(&p);
    TEST_PASS("slicer: 20 slices, 20 ms apart");
    return 0;
}
