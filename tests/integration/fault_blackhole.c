/* blackhole: from `after`, bytes in `direction` vanish, and so does the FIN. The client sees
 * silence; the other direction still works. */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;

    pair_start(&p, "[{type: blackhole, direction: downstream, after: 300ms}]", "");
    pair_connect(&p, true);
    /* before `after`: relayed */
    CHECK_EQ(sk_write_all(p.s, "early", 5, 1000), 0);
    CHECK_UINT(sk_read_n(p.c, 5, 250).bytes, ==, 5);
    CHECK(fwp_wait_log(p.fw, "fault blackhole: dropping downstream data, no FIN", 2000));
    /* after: nothing, not even the server's FIN */
    CHECK_EQ(sk_write_pattern(p.s, 0, 10000, 1000), 0);
    sk_shut_wr(p.s);
    CHECK(sk_silent(p.c, 800));
    /* upstream still flows */
    CHECK_EQ(sk_write_all(p.c, "ping", 4, 1000), 0);
    r = sk_read_n(p.s, 4, 1000);
    CHECK_UINT(r.bytes, ==, 4);
    pair_stop(&p);
    TEST_PASS("blackhole downstream: silence, upstream intact");
    return 0;
}
