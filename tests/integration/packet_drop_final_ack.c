/* drop_final_ack, verified on the peers' sockets (in a namespace of its own):
 *  - finwait closed the client leg first: its ACK of the client's FIN is dropped twice, so the
 *    client stays in LAST_ACK and retransmits its FIN until the third ACK passes;
 *  - the client closed first: the client's ACK of finwait's FIN is dropped twice, so finwait's
 *    leg stays in LAST_ACK and retransmits, and the client, in TIME_WAIT, answers;
 *  - count: all: the LAST_ACK side gives up after tcp_orphan_retries. */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "pair.h"
#include "sock.h"

static unsigned retrans(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;

    CHECK(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0);
    return ti.tcpi_total_retrans;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    CHECK(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int main(void)
{
    struct pair p;
    int64_t t0, seen_ms = -1;

    netns_enter(2);

    /* finwait closes the client leg first (the server closed first) */
    pair_start(&p, "[{type: drop_final_ack, leg: client, count: 2}]", "");
    pair_connect(&p, true);
    sk_shut_wr(p.s);
    CHECK_STR(sk_end_name(sk_read_until_end(p.c, 3000, false, 0).end), "EOF");
    t0 = now_ms();
    sk_shut_wr(p.c); /* the client's FIN; its socket stays open so TCP_INFO can be read */
    CHECK(sk_wait_state(p.c, TCP_LAST_ACK, 1000));
    while (sk_tcp_state(p.c) == TCP_LAST_ACK && now_ms() - t0 < 5000)
        poll(NULL, 0, 5);
    fprintf(stderr, "client left LAST_ACK after %lld ms, %u retransmissions\n",
            (long long)(now_ms() - t0), retrans(p.c));
    CHECK_STR(sk_state_name(sk_tcp_state(p.c)), "CLOSE");
    CHECK_UINT(retrans(p.c), >=, 2);   /* its FIN went out three times */
    CHECK_INT(now_ms() - t0, >=, 380); /* two retransmission timeouts (>= 200 ms each) */
    CHECK(fwp_wait_log(p.fw, "passed final ACK (retransmission)", 3000));
    pair_stop(&p);
    TEST_PASS("finwait first: the client stays in LAST_ACK and resends its FIN twice");

    /* the client closes first: finwait's leg stays in LAST_ACK */
    pair_start(&p, "[{type: drop_final_ack, leg: client, count: 2}]", "");
    pair_connect(&p, true);
    sk_shut_wr(p.c);
    CHECK_STR(sk_end_name(sk_read_until_end(p.s, 3000, false, 0).end), "EOF");
    t0 = now_ms();
    sk_shut_wr(p.s);
    CHECK_STR(sk_end_name(sk_read_until_end(p.c, 3000, false, 0).end), "EOF");
    while (now_ms() - t0 < 5000) {
        int n = netns_count_state(p.port, TCP_LAST_ACK);
        if (n > 0 && seen_ms < 0)
            seen_ms = now_ms();
        if (n == 0 && seen_ms >= 0)
            break;
        poll(NULL, 0, 5);
    }
    CHECK_MSG(seen_ms >= 0, "finwait's client leg was never in LAST_ACK");
    /* timed from the server's FIN, which finwait relays at once: when the first LAST_ACK is
     * seen depends on how soon this loop runs on a loaded machine, the close does not */
    fprintf(stderr, "finwait's leg in LAST_ACK for %lld ms after the server's FIN\n",
            (long long)(now_ms() - t0));
    CHECK_INT(now_ms() - t0, >=, 350);
    CHECK_EQ(netns_count_state(p.port, TCP_LAST_ACK), 0); /* the client's TIME_WAIT answered */
    CHECK(fwp_wait_log(p.fw, "dropped final ACK (retransmission)", 1000));
    pair_stop(&p);
    TEST_PASS("client first: finwait's leg in LAST_ACK until the client's TIME_WAIT answers");

    /* count: all -- the orphaned LAST_ACK socket gives up after tcp_orphan_retries (2) */
    pair_start(&p, "[{type: drop_final_ack, leg: client, count: all}]", "");
    pair_connect(&p, true);
    sk_shut_wr(p.s);
    CHECK_STR(sk_end_name(sk_read_until_end(p.c, 3000, false, 0).end), "EOF");
    {
        uint16_t cport = local_port(p.c);
        close(p.c);
        p.c = -1;
        t0 = now_ms();
        CHECK(netns_count_state(cport, TCP_LAST_ACK) == 1);
        while (netns_count_state(cport, TCP_LAST_ACK) > 0 && now_ms() - t0 < 20000)
            poll(NULL, 0, 20);
        fprintf(stderr, "orphaned LAST_ACK gave up after %lld ms\n", (long long)(now_ms() - t0));
        CHECK_EQ(netns_count_state(cport, TCP_LAST_ACK), 0);
        CHECK_INT(now_ms() - t0, >=, 1000);
    }
    pair_stop(&p);
    TEST_PASS("count: all: the LAST_ACK side gives up after its retries");
    return 0;
}
