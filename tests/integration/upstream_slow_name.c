/*
 * A slow name costs only its own connections. A DNS server in the test's namespace receives
 * the lookups of proxy `slow` and never answers; while 16 clients of `slow` wait for theirs,
 * a client of `fast`, whose upstream is an /etc/hosts name, is relayed at once. (With the
 * lookups on libuv's four pool threads it queued behind them and hit its connect_timeout.)
 * The clients of `slow` get an RST at their connect_timeout; their lookups, cancelled, end
 * with c-ares' own timeout.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "names.h"
#include "proc.h"
#include "sock.h"

#define SLOW_CLIENTS 16

/* A DNS server on 127.0.0.1:53 that reads nothing: every query waits for c-ares' timeout. */
static int mute_dns(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    CHECK(fd >= 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_MSG(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0, "bind 127.0.0.1:53: %s",
              strerror(errno));
    return fd;
}

/* Queries that reached the DNS server within timeout_ms, once at least `want` did. */
static int wait_queries(int dns, int want, int timeout_ms)
{
    char b[512];
    int n = 0;

    for (int64_t end = now_ms() + timeout_ms; n < want && now_ms() < end;) {
        struct pollfd p = {.fd = dns, .events = POLLIN};
        if (poll(&p, 1, 50) == 1 && recv(dns, b, sizeof b, 0) > 0)
            n++;
    }
    return n;
}

int main(void)
{
    uint16_t up = 0, slow_port, fast_port;
    int slow[SLOW_CLIENTS], lfd, dns, c, s, queries, base, fds = -1;
    int64_t t0, ms;
    struct sk_read r;
    struct fwp *fw;

    /* a lookup gives up after 2 s: c-ares 1.18 reads retrans/retry, glibc timeout/attempts */
    names_enter("127.0.0.1 fast.test\n", "nameserver 127.0.0.1\n"
                                         "options retrans:2000 retry:1 timeout:2 attempts:1\n");
    dns = mute_dns();
    lfd = sk_listen("127.0.0.1", &up);
    fw = fwp_start("proxies:\n"
                   "  - {name: slow, listen: 127.0.0.1:0, upstream: 'slow.test:%u', "
                   "connect_timeout: 1s}\n"
                   "  - {name: fast, listen: 127.0.0.1:0, upstream: 'fast.test:%u', "
                   "connect_timeout: 1s}\n",
                   up, up);
    slow_port = fwp_port(fw, "slow");
    fast_port = fwp_port(fw, "fast");
    base = fwp_fd_count(fw);

    t0 = now_ms();
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        slow[i] = sk_connect("127.0.0.1", slow_port, 2000);
        CHECK_MSG(slow[i] >= 0, "client %d of slow: %s", i, strerror(errno));
    }
    /* at least the first lookups are out (a pool of four threads sends four, c-ares all) */
    queries = wait_queries(dns, 4, 1500);
    CHECK_INT(queries, >=, 4);

    ms = now_ms();
    sk_pair(NULL, "127.0.0.1", fast_port, lfd, &c, &s);
    CHECK_EQ(sk_write_all(c, "ping", 4, 2000), 0);
    CHECK_UINT(sk_read_n(s, 4, 2000).bytes, ==, 4);
    CHECK_EQ(sk_write_all(s, "pong", 4, 2000), 0);
    r = sk_read_n(c, 4, 2000);
    CHECK_UINT(r.bytes, ==, 4);
    ms = r.first_ms - ms;
    fprintf(stderr, "fast.test round trip with %d slow lookups pending: %lld ms\n", SLOW_CLIENTS,
            (long long)ms);
    CHECK_INT(ms, <, 300);
    close(c);
    close(s);
    TEST_PASS("an /etc/hosts name is not delayed by pending slow lookups");

    /* every slow lookup was sent at once, not four at a time (A and AAAA each) */
    queries += wait_queries(dns, 2 * SLOW_CLIENTS - queries, 1000);
    CHECK_INT(queries, >=, 2 * SLOW_CLIENTS);
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        r = sk_read_until_end(slow[i], 5000, false, 0);
        CHECK_STR(sk_end_name(r.end), "ECONNRESET");
        CHECK_INT(r.end_ms - t0, >=, 950);
        CHECK_INT(r.end_ms - t0, <, 2500);
        close(slow[i]);
    }
    CHECK(fwp_wait_log(fw, "connect_timeout", 1000));
    TEST_PASS("clients of the slow name: RST at connect_timeout");

    /* The lookups of the closed connections go on in c-ares until its timeout (2 s): then
     * they are freed and c-ares closes its socket. */
    for (int64_t end = now_ms() + 5000; now_ms() < end && fds != base;) {
        fds = fwp_fd_count(fw);
        poll(NULL, 0, 20);
    }
    fprintf(stderr, "finwait fds: %d before, %d after the lookups timed out\n", base, fds);
    CHECK_EQ(fds, base);
    TEST_PASS("cancelled lookups end with c-ares' timeout, their socket closed");

    /* one more lookup pending in c-ares: stopping must end it cleanly */
    c = sk_connect("127.0.0.1", slow_port, 2000);
    CHECK(c >= 0);
    CHECK_INT(wait_queries(dns, 1, 1500), >=, 1);
    close(c);
    close(lfd);
    close(dns);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("stop with lookups pending");
    return 0;
}
