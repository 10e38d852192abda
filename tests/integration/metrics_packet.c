/* finwait_packet_verdicts_total counts every verdict the packet engine gives: accepted plus
 * dropped equals the packets the kernel's queue handed to it, and a FIN dropped once is one
 * drop. In a network namespace of its own (iptables). */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "netns.h"
#include "proc.h"
#include "prom.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0, admin, port;
    int lfd, c, s;
    unsigned queue;
    struct fwp *fw;
    int64_t end;
    char *log;
    json_t *m;

    netns_enter(2);
    lfd = sk_listen("127.0.0.1", &up);
    fw = fwp_start("admin: {listen: 127.0.0.1:0}\n"
                   "proxies:\n"
                   "  - name: p\n"
                   "    listen: 127.0.0.1:0\n"
                   "    upstream: 127.0.0.1:%u\n"
                   "    faults: [{type: drop_fin, leg: server, from: peer, count: 1}]\n",
                   up);
    admin = http_admin_port(fw);
    port = fwp_port(fw, "p");
    log = fwp_log(fw);
    CHECK(strstr(log, "packet engine: queue ") != NULL);
    queue = (unsigned)atoi(strstr(log, "packet engine: queue ") + 21);
    free(log);

    m = prom_scrape(admin);
    CHECK_EQ(prom_get(m, "finwait_packet_verdicts_total{verdict=\"drop\"}"), 0);
    CHECK_EQ(prom_get(m, "finwait_packet_verdicts_total{verdict=\"accept\"}"),
             netns_queue_packets(queue));
    json_decref(m);

    /* the server closes first: its FIN is dropped once, the retransmission passes */
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    sk_round_trip(c, s);
    sk_shut_wr(s);
    CHECK_STR(sk_end_name(sk_read_until_end(c, 5000, false, 0).end), "EOF");
    sk_shut_wr(c);
    CHECK_STR(sk_end_name(sk_read_until_end(s, 5000, false, 0).end), "EOF");
    close(c);
    close(s);
    CHECK(fwp_wait_log(fw, "passed FIN (retransmission)", 2000));

    /* the close's last segments may still be queued: the two agree once they stop */
    end = now_ms() + 5000;
    for (;;) {
        long queued = netns_queue_packets(queue);
        double acc, drop;
        m = prom_scrape(admin);
        acc = prom_get(m, "finwait_packet_verdicts_total{verdict=\"accept\"}");
        drop = prom_get(m, "finwait_packet_verdicts_total{verdict=\"drop\"}");
        json_decref(m);
        CHECK_EQ(drop, 1);
        if (acc + drop == (double)queued && queued == netns_queue_packets(queue)) {
            fprintf(stderr, "queue %u: %ld packets, %g accepted, %g dropped\n", queue, queued, acc,
                    drop);
            CHECK_INT(queued, >=, 4); /* at least the handshake's last ACK, data, FINs */
            break;
        }
        CHECK_MSG(now_ms() < end, "verdicts %g + %g, queue %ld", acc, drop, queued);
        poll(NULL, 0, 50);
    }
    TEST_PASS("verdicts: accepted + dropped = packets queued; one FIN dropped = 1 drop");

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 8000), 0);
    return 0;
}
