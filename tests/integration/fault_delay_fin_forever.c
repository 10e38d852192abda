/* delay_fin forever: the server never gets the client's FIN. Its socket stays ESTABLISHED
 * while the client's is in FIN_WAIT2, until the server closes itself. */
#include <netinet/tcp.h>

#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;

    pair_start(&p, "[{type: delay_fin, direction: upstream, delay: forever}]", "");
    pair_connect(&p, true);
    CHECK_EQ(sk_write_all(p.c, "req", 3, 1000), 0);
    sk_shut_wr(p.c);
    CHECK_UINT(sk_read_n(p.s, 3, 1000).bytes, ==, 3);
    CHECK(sk_wait_state(p.c, TCP_FIN_WAIT2, 2000));
    /* no EOF, no RST for the server: silence */
    CHECK(sk_silent(p.s, 1200));
    CHECK_STR(sk_state_name(sk_tcp_state(p.s)), "ESTABLISHED");
    CHECK_STR(sk_state_name(sk_tcp_state(p.c)), "FIN_WAIT2");
    /* the server gives up and closes: its FIN and last bytes still reach the client */
    CHECK_EQ(sk_write_all(p.s, "bye", 3, 1000), 0);
    sk_shut_wr(p.s);
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_UINT(r.bytes, ==, 3);
    CHECK_STR(sk_end_name(r.end), "EOF");
    pair_stop(&p);
    TEST_PASS("delay_fin forever: server ESTABLISHED, client FIN_WAIT2, until the server closes");
    return 0;
}
