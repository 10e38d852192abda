/* limit_data (Toxiproxy): exactly `bytes` pass in the stream's direction, then both peers get
 * a FIN. */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;

    pair_start(&p, "[{type: limit_data, bytes: 1000}]", "");
    pair_connect(&p, true);
    CHECK_EQ(sk_write_pattern(p.s, 0, 700, 1000), 0);
    CHECK_UINT(sk_read_n(p.c, 700, 1000).bytes, ==, 700);
    CHECK_EQ(sk_write_pattern(p.s, 700, 5000, 1000), 0);
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_UINT(r.bytes, ==, 300);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_STR(sk_end_name(sk_read_until_end(p.s, 3000, false, 0).end), "EOF");
    pair_stop(&p);
    TEST_PASS("limit_data 1000 bytes");
    return 0;
}
