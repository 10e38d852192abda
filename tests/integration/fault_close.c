/* close: a graceful FIN mid-stream. After N bytes both peers get a FIN; with `to: server` only
 * the server does, and the client still receives the answer. */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;
    int64_t t0;

    pair_start(&p, "[{type: close, after_bytes: 1000, direction: downstream}]", "");
    pair_connect(&p, true);
    CHECK_EQ(sk_write_pattern(p.s, 0, 5000, 2000), 0);
    r = sk_read_until_end(p.c, 3000, true, 0);
    CHECK_UINT(r.bytes, ==, 1000);
    CHECK(r.pattern_ok);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_STR(sk_end_name(sk_read_until_end(p.s, 3000, false, 0).end), "EOF");
    pair_stop(&p);
    TEST_PASS("close after 1000 bytes: both peers EOF");

    pair_start(&p, "[{type: close, after: 300ms, to: server}]", "");
    t0 = now_ms();
    pair_connect(&p, true);
    r = sk_read_until_end(p.s, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - t0, >=, 290);
    /* the server answers its (injected) half-close; the client gets it and then EOF */
    CHECK_EQ(sk_write_all(p.s, "answer", 6, 1000), 0);
    sk_shut_wr(p.s);
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_UINT(r.bytes, ==, 6);
    CHECK_STR(sk_end_name(r.end), "EOF");
    pair_stop(&p);
    TEST_PASS("close to: server after 300ms: an injected half-close");
    return 0;
}
