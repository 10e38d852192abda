/* A packet fault costs only its own flow: the connections of the same proxy it does not apply
 * to never enter the queue, not even their handshakes, although a client-leg fault marks the
 * proxy's listening socket; the faulted connection does (counted by the kernel's queue). And
 * flows that have nothing to do with finwait keep the packet marks the host's own rules give
 * or expect (counted by iptables rules in the filter table). */
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
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
    int c, s;

    /* finwait has accepted the client (and decided its faults) before the server gets it */
    sk_pair(src, "127.0.0.1", port, lfd, &c, &s);
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

/* Packets counted so far by the filter rule carrying `comment`, or -1 if there is none. */
static long counted(const char *comment)
{
    FILE *p = popen("iptables-save -c -t filter", "r");
    char line[512];
    long pkts = -1;

    CHECK(p != NULL);
    while (fgets(line, sizeof line, p))
        if (strstr(line, comment) && sscanf(line, "[%ld:", &pkts) != 1)
            pkts = -1;
    pclose(p);
    return pkts;
}

static void run(const char *fmt, unsigned port)
{
    char cmd[512];

    snprintf(cmd, sizeof cmd, fmt, port);
    CHECK_MSG(system(cmd) == 0, "%s", cmd);
}

/* A connection that never goes near finwait: a few bytes to a local server on `port`. */
static void plain_exchange(int lfd, uint16_t port)
{
    int c, s;

    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_EQ(sk_write_all(c, "x", 1, 2000), 0);
    CHECK_UINT(sk_read_n(s, 1, 2000).bytes, ==, 1);
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
    TEST_PASS("the faulted connection goes through the queue");

    {
        /* the host marks packets to `other` in PREROUTING and matches the mark in filter
         * INPUT, after finwait's mangle INPUT chain; `socket_marked`'s sockets carry SO_MARK
         * 0x77 of some other program, whose packets arrive unmarked and must stay so */
        uint16_t other = 0, socket_marked = 0;
        int olfd = sk_listen("127.0.0.1", &other), mlfd = sk_listen("127.0.0.1", &socket_marked);
        uint32_t m = 0x77;
        CHECK(setsockopt(mlfd, SOL_SOCKET, SO_MARK, &m, sizeof m) == 0);
        run("iptables -t mangle -A PREROUTING -p tcp --dport %u -j MARK --set-mark 0x1234", other);
        run("iptables -A INPUT -p tcp --dport %u -m comment --comment fwtest-all", other);
        run("iptables -A INPUT -p tcp --dport %u -m mark --mark 0x1234 -m comment --comment "
            "fwtest-kept",
            other);
        run("iptables -A INPUT -p tcp --dport %u -m mark ! --mark 0 -m comment --comment "
            "fwtest-untouched",
            socket_marked);
        plain_exchange(olfd, other);
        plain_exchange(mlfd, socket_marked);
        fprintf(stderr,
                "to port %u: %ld packets, %ld with the host's mark; to port %u: %ld "
                "given a mark\n",
                other, counted("fwtest-all"), counted("fwtest-kept"), socket_marked,
                counted("fwtest-untouched"));
        CHECK_INT(counted("fwtest-all"), >, 0);
        CHECK_INT(counted("fwtest-kept"), ==, counted("fwtest-all"));
        CHECK_INT(counted("fwtest-untouched"), ==, 0);
        close(olfd);
        close(mlfd);
    }
    TEST_PASS("other flows keep their packet marks while finwait's chains are installed");
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 8000), 0);
    return 0;
}
