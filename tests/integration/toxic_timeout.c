/* timeout (Toxiproxy): nothing passes in the stream's direction, and the connection is closed
 * after `timeout` ms, even when it is idle (Toxiproxy's timer only ran while data flowed). */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;
    int64_t t0;

    pair_start(&p, "[{type: timeout, timeout: 500}]", "");
    t0 = now_ms();
    pair_connect(&p, true);
    CHECK_EQ(sk_write_all(p.s, "dropped", 7, 1000), 0);
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_UINT(r.bytes, ==, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - t0, >=, 490);
    CHECK_INT(r.end_ms - t0, <, 2000);
    CHECK_STR(sk_end_name(sk_read_until_end(p.s, 3000, false, 0).end), "EOF");
    pair_stop(&p);
    TEST_PASS("timeout 500: data dropped, closed at 500ms");

    pair_start(&p, "[{type: timeout, timeout: 400}]", "");
    t0 = now_ms();
    pair_connect(&p, true); /* idle: no byte at all */
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - t0, >=, 390);
    pair_stop(&p);
    TEST_PASS("timeout closes an idle connection too");
    return 0;
}
