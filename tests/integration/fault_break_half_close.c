/* break_half_close: the classic symptom. The client half-closes after its request; the server
 * gets the request and EOF, answers, but the client only ever sees EOF: the answer is lost. */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;

    pair_start(&p, "[{type: break_half_close}]", "");
    pair_connect(&p, true);
    CHECK_EQ(sk_write_all(p.c, "GET /", 5, 1000), 0);
    sk_shut_wr(p.c);
    r = sk_read_until_end(p.s, 3000, false, 0);
    CHECK_UINT(r.bytes, ==, 5);
    CHECK_STR(sk_end_name(r.end), "EOF");
    sk_write_all(p.s, "200 OK", 6, 1000); /* may fail: finwait has closed its side */
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, 0);
    pair_stop(&p);
    TEST_PASS("break_half_close: the answer after a half-close never arrives");

    /* the same with a direct-proxy delay: until it fires, half-close still works */
    pair_start(&p, "[{type: break_half_close, delay: 500ms}]", "");
    pair_connect(&p, true);
    sk_shut_wr(p.c);
    CHECK_STR(sk_end_name(sk_read_until_end(p.s, 2000, false, 0).end), "EOF");
    CHECK_EQ(sk_write_all(p.s, "fast", 4, 1000), 0);
    CHECK_UINT(sk_read_n(p.c, 4, 400).bytes, ==, 4);
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    pair_stop(&p);
    TEST_PASS("break_half_close with delay: both legs closed after the delay");
    return 0;
}
