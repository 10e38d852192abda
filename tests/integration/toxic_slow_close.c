/* slow_close (Toxiproxy): the server's FIN is held `delay` ms; its bytes are not. */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;
    int64_t t0;

    pair_start(&p, "[{type: slow_close, delay: 500}]", "");
    pair_connect(&p, true);
    t0 = now_ms();
    CHECK_EQ(sk_write_all(p.s, "answer", 6, 1000), 0);
    sk_shut_wr(p.s);
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_UINT(r.bytes, ==, 6);
    CHECK_INT(r.first_ms - t0, <, 200);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - t0, >=, 490);
    CHECK_INT(r.end_ms - t0, <, 2000);
    pair_stop(&p);
    TEST_PASS("slow_close 500ms");
    return 0;
}
