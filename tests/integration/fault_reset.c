/* reset: an abortive close mid-stream. After exactly N bytes, or after a time; `to` says who
 * gets the RST, the other peer gets a FIN. */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;
    int64_t t0;

    pair_start(&p, "[{type: reset, after_bytes: 1000, direction: downstream, to: client}]", "");
    pair_connect(&p, true);
    CHECK_EQ(sk_write_pattern(p.s, 0, 100000, 2000), 0);
    r = sk_read_until_end(p.c, 3000, true, 0);
    CHECK_UINT(r.bytes, ==, 1000);
    CHECK(r.pattern_ok);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    r = sk_read_until_end(p.s, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF"); /* the server got a FIN */
    pair_stop(&p);
    TEST_PASS("reset after 1000 bytes: client RST, server FIN");

    pair_start(&p, "[{type: reset, after: 400ms}]", "");
    t0 = now_ms();
    pair_connect(&p, true);
    r = sk_read_until_end(p.c, 3000, false, 0); /* idle: reset by time alone */
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK_INT(r.end_ms - t0, >=, 390);
    CHECK_INT(r.end_ms - t0, <, 2000);
    r = sk_read_until_end(p.s, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    pair_stop(&p);
    TEST_PASS("reset after 400ms: both peers RST");
    return 0;
}
