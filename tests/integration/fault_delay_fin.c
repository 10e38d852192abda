/* delay_fin: the client's FIN reaches the server `delay` after it reached finwait. The bytes
 * before it are not delayed, and the server's answer keeps flowing meanwhile. */
#include <netinet/tcp.h>

#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;
    int64_t fin_at;

    pair_start(&p, "[{type: delay_fin, direction: upstream, delay: 600ms}]", "");
    pair_connect(&p, true);
    CHECK_EQ(sk_write_pattern(p.c, 0, 5000, 2000), 0);
    sk_shut_wr(p.c);
    fin_at = now_ms();
    /* the request arrives at once */
    r = sk_read_n(p.s, 5000, 300);
    CHECK_UINT(r.bytes, ==, 5000);
    CHECK_INT(r.end_ms - fin_at, <, 300);
    /* during the delay the server can still answer and the client receives it */
    CHECK_EQ(sk_write_all(p.s, "early", 5, 1000), 0);
    CHECK_UINT(sk_read_n(p.c, 5, 300).bytes, ==, 5);
    CHECK_STR(sk_state_name(sk_tcp_state(p.c)), "FIN_WAIT2");
    CHECK_STR(sk_state_name(sk_tcp_state(p.s)), "ESTABLISHED");
    /* then EOF, never before the delay */
    r = sk_read_until_end(p.s, 5000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, 0);
    CHECK_INT(r.end_ms - fin_at, >=, 590);
    CHECK_INT(r.end_ms - fin_at, <, 2500);
    /* and the close completes normally */
    close(p.s);
    p.s = -1;
    CHECK_STR(sk_end_name(sk_read_until_end(p.c, 3000, false, 0).end), "EOF");
    CHECK(fwp_wait_log(p.fw, "fault delay_fin: holding the client's FIN to the server for", 1000));
    pair_stop(&p);
    TEST_PASS("delay_fin: FIN late, data on time, the other direction flows");
    return 0;
}
