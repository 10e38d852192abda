/* drop_fin: the FIN segment is dropped `count` times and retransmitted, so EOF arrives late;
 * the sender sits in FIN_WAIT1 meanwhile. Compared with the same close on a proxy without
 * the fault, in the same run. */
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>

#include "check.h"
#include "netns.h"
#include "pair.h"
#include "sock.h"

/* The server closes first; returns how long the client waited for EOF. */
static int64_t server_close(const char *faults, bool expect_fin_wait1)
{
    struct pair p;
    struct sk_read r;
    int64_t t0;

    pair_start(&p, faults, "");
    pair_connect(&p, true);
    t0 = now_ms();
    sk_shut_wr(p.s);
    if (expect_fin_wait1) {
        poll(NULL, 0, 100);
        CHECK_STR(sk_state_name(sk_tcp_state(p.s)), "FIN_WAIT1");
    }
    r = sk_read_until_end(p.c, 5000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    pair_stop(&p);
    return r.end_ms - t0;
}

/* Through the proxy at host:port to a server accepted from lfd, the server closes first:
 * returns how long after its FIN the client's read ended, which must be EOF. */
static int64_t eof_delay(const char *host, uint16_t port, int lfd)
{
    struct sk_read r;
    int64_t t0;
    int c, s;

    sk_pair(NULL, host, port, lfd, &c, &s);
    t0 = now_ms();
    sk_shut_wr(s);
    r = sk_read_until_end(c, 5000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    close(c);
    close(s);
    return r.end_ms - t0;
}

int main(void)
{
    int64_t plain, dropped;
    struct pair p;
    struct sk_read r;
    int64_t t0;

    netns_enter(2);
    plain = server_close("[]", false);
    dropped = server_close("[{type: drop_fin, leg: server, from: peer, count: 2}]", true);
    fprintf(stderr, "EOF after %lld ms without the fault, %lld ms with 2 FINs dropped\n",
            (long long)plain, (long long)dropped);
    CHECK_INT(plain, <, 150);
    CHECK_INT(dropped, >=, 380); /* two retransmission timeouts of >= 200 ms on loopback */
    CHECK_INT(dropped, <, 3000);
    TEST_PASS("drop_fin from the server: EOF late, server in FIN_WAIT1 meanwhile");

    /* finwait's own FIN to the client: its leg retransmits */
    pair_start(&p, "[{type: drop_fin, leg: client, from: finwait, count: 1}]", "");
    pair_connect(&p, true);
    t0 = now_ms();
    sk_shut_wr(p.s);
    CHECK(fwp_wait_log(p.fw, "dropped FIN", 2000));
    r = sk_read_until_end(p.c, 5000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - t0, >=, 190);
    CHECK(fwp_wait_log(p.fw, "passed FIN (retransmission)", 2000));
    pair_stop(&p);
    TEST_PASS("drop_fin from finwait: the client's EOF comes with the retransmission");

    /* IPv6: the same through ip6tables */
    {
        uint16_t up = 0;
        int lfd = sk_listen("::1", &up);
        struct fwp *fw = fwp_start("proxies:\n  - name: v6\n    listen: '[::1]:0'\n"
                                   "    upstream: '[::1]:%u'\n"
                                   "    faults: [{type: drop_fin, leg: server, from: peer, "
                                   "count: 2}]\n",
                                   up);
        CHECK_INT(eof_delay("::1", fwp_port(fw, "v6"), lfd), >=, 380);
        CHECK(fwp_wait_log(fw, "dropped FIN (retransmission)", 1000));
        close(lfd);
        CHECK_EQ(fwp_stop(fw, SIGTERM, 8000), 0);
    }
    TEST_PASS("drop_fin over IPv6");

    /* A reload brings the packet engine and the client-leg mark to a proxy that had neither. */
    {
        uint16_t up = 0, port;
        int lfd = sk_listen("127.0.0.1", &up);
        struct fwp *fw = fwp_start("proxies:\n  - {name: r, listen: 127.0.0.1:0, "
                                   "upstream: 127.0.0.1:%u}\n",
                                   up);
        port = fwp_port(fw, "r");
        CHECK_EQ(netns_finwait_rules(), 0);
        CHECK(fwp_reload(fw,
                         "proxies:\n  - {name: r, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                         "     faults: [{type: drop_fin, leg: client, from: finwait, count: 1}]}\n",
                         up));
        CHECK_INT(netns_finwait_rules(), >, 0);
        CHECK_INT(eof_delay("127.0.0.1", port, lfd), >=, 190);
        CHECK(fwp_wait_log(fw, "passed FIN (retransmission)", 2000));
        close(lfd);
        CHECK_EQ(fwp_stop(fw, SIGTERM, 8000), 0);
        CHECK_EQ(netns_finwait_rules(), 0);
    }
    TEST_PASS("a packet fault added by a reload drops the FIN of new connections");
    return 0;
}
