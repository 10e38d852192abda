/* A packet fault added by a reload reaches the open connections whose leg has not started
 * its close: the FIN of a connection opened before the fault existed is dropped, and a
 * connection whose close had started is left alone. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "proc.h"
#include "sock.h"

static const char plain[] =
    "proxies:\n  - {name: r, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n";
static const char faulted[] =
    "proxies:\n  - {name: r, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
    "     faults: [{type: drop_fin, leg: %s, from: %s, count: 2}]}\n";

/* The server closes; how long until the client's read ends, which must be EOF. */
static int64_t server_fin_to_eof(int c, int s)
{
    int64_t t0 = now_ms();
    struct sk_read r;

    sk_shut_wr(s);
    r = sk_read_until_end(c, 5000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    return r.end_ms - t0;
}

/* One open connection through r, used both ways, then the fault added by SIGHUP. */
static void attach_to_open(const char *leg, const char *from)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), c, s, late_c, late_s;
    struct fwp *fw = fwp_start(plain, up);
    int64_t ms;

    port = fwp_port(fw, "r");
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_INT(sk_round_trip(c, s), >=, 0);
    /* a second connection whose client has already closed: its close has started */
    sk_pair(NULL, "127.0.0.1", port, lfd, &late_c, &late_s);
    sk_shut_wr(late_c);
    CHECK_UINT(sk_read_until_end(late_s, 2000, false, 0).end, ==, SK_EOF);

    CHECK(fwp_reload(fw, faulted, up, leg, from));
    CHECK_INT(netns_finwait_rules(), >, 0);
    CHECK_INT(sk_round_trip(c, s), >=, 0); /* bytes still flow, through the queue or not */
    ms = server_fin_to_eof(c, s);
    fprintf(stderr, "%s leg, FIN from %s: EOF %lld ms after the server's FIN\n", leg, from,
            (long long)ms);
    CHECK_INT(ms, >=, 380); /* two retransmission timeouts of >= 200 ms on loopback */
    CHECK_INT(ms, <, 4000);
    CHECK(fwp_wait_log(fw, "dropped FIN", 1000));

    /* the connection whose close had started: its FIN passes at once */
    CHECK_INT(server_fin_to_eof(late_c, late_s), <, 150);
    close(c);
    close(s);
    close(late_c);
    close(late_s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 8000), 0);
    CHECK_EQ(netns_finwait_rules(), 0);
}

int main(void)
{
    netns_enter(2);
    attach_to_open("server", "peer");
    TEST_PASS("drop_fin from the server, added while the connection was open: EOF late");
    attach_to_open("client", "finwait");
    TEST_PASS("drop_fin of finwait's FIN to the client, added while it was open: EOF late");
    return 0;
}
