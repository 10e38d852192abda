/* A packet fault costs only its own flow: the connections of the same proxy it does not apply
 * to never enter the queue, not even their handshakes, although a client-leg fault marks the
 * proxy's listening socket; the faulted connection does. Counted by the kernel's queue. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "proc.h"
#include "sock.h"

#define CONNS 100

/* One exchange and a graceful close each way through the proxy, from `src`. */
static void exchange(const char *src, uint16_t port, int lfd)
{
    int c = sk_connect_from(src, "127.0.0.1", port, 2000), s;

    CHECK(c >= 0);
    s = sk_accept(lfd, 2000); /* finwait has accepted the client (and decided) before this */
    CHECK(s >= 0);
    CHECK_EQ(sk_write_all(c, "request", 7, 2000), 0);
    CHECK_UINT(sk_read_n(s, 7, 2000).bytes, ==, 7);
    CHECK_EQ(sk_write_all(s, "answer", 6, 2000), 0);
    sk_shut_wr(s);
    CHECK_UINT(sk_read_until_end(c, 5000, false, 0).bytes, ==, 6);
    sk_shut_wr(c);
    CHECK_STR(sk_end_name(sk_read_until_end(s, 5000, false, 0).end), "EOF");
    close(c);
    close(s);
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd;
    unsigned queue = 0;
    long before, after;
    struct fwp *fw;
    char *log;

    netns_enter(2);
    lfd = sk_listen("127.0.0.1", &up);
    fw = fwp_start("proxies:\n"
                   "  - {name: p, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                   "     faults: [{type: drop_fin, leg: client, from: peer,\n"
                   "               match: {client: 127.0.0.2/32}}]}\n",
                   up);
    port = fwp_port(fw, "p");
    log = fwp_log(fw);
    CHECK(strstr(log, "packet engine: queue ") != NULL);
    queue = (unsigned)atoi(strstr(log, "packet engine: queue ") + 21);
    free(log);

    before = netns_queue_packets(queue);
    CHECK_MSG(before >= 0, "queue %u is not bound", queue);
    for (int i = 0; i < CONNS; i++)
        exchange("127.0.0.1", port, lfd);
    after = netns_queue_packets(queue);
    fprintf(stderr, "queue %u: %ld packets for %d unfaulted connections\n", queue, after - before,
            CONNS);
    CHECK_INT(after - before, ==, 0);
    TEST_PASS("unfaulted connections of a proxy with a client-leg packet fault: none queued");

    exchange("127.0.0.2", port, lfd);
    CHECK(fwp_wait_log(fw, "dropped FIN", 2000));
    fprintf(stderr, "queue %u: %ld packets for the faulted connection\n", queue,
            netns_queue_packets(queue) - after);
    CHECK_INT(netns_queue_packets(queue) - after, >, 0);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 8000), 0);
    TEST_PASS("the faulted connection goes through the queue");
    return 0;
}
