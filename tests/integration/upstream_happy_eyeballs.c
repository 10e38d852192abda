/*
 * upstream localhost:PORT, with Debian's `::1 localhost` line in /etc/hosts, and a server on
 * 127.0.0.1 only: every address is tried (RFC 8305), so clients are relayed instead
 * of reset. A refused address passes to the next at once; a silent one after the 250 ms
 * connection attempt delay, long before connect_timeout, and its socket is closed.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "names.h"
#include "proc.h"
#include "sock.h"

/* Connect through the proxy and check bytes pass both ways; returns the ms it took until the
 * first reply byte reached the client. */
static int64_t round_trip(uint16_t port, int lfd)
{
    int64_t t0 = now_ms();
    struct sk_read r;
    int c, s;

    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_EQ(sk_write_pattern(c, 0, 1000, 5000), 0);
    r = sk_read_n(s, 1000, 5000);
    CHECK_UINT(r.bytes, ==, 1000);
    CHECK(r.pattern_ok);
    CHECK_EQ(sk_write_all(s, "pong", 4, 5000), 0);
    r = sk_read_n(c, 4, 5000);
    CHECK_UINT(r.bytes, ==, 4);
    close(c);
    close(s);
    return r.first_ms - t0;
}

static int wait_fds(struct fwp *fw, int base)
{
    int now = -1;

    for (int64_t end = now_ms() + 5000; now_ms() < end;) {
        now = fwp_fd_count(fw);
        if (now == base)
            break;
        poll(NULL, 0, 10);
    }
    return now;
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd, base;
    int64_t ms;
    struct fwp *fw;
    char needle[64];

    /* Debian's /etc/hosts: the resolver sorts ::1 first (RFC 6724) */
    names_enter("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", NULL);
    lfd = sk_listen("127.0.0.1", &up); /* nothing listens on [::1]:up in this namespace */
    fw = fwp_start("log: {level: debug}\n"
                   "proxies:\n"
                   "  - {name: he, listen: 127.0.0.1:0, upstream: 'localhost:%u', "
                   "connect_timeout: 3s}\n",
                   up);
    port = fwp_port(fw, "he");
    base = fwp_fd_count(fw);

    ms = round_trip(port, lfd);
    fprintf(stderr, "::1 refused: relayed via 127.0.0.1 in %lld ms\n", (long long)ms);
    snprintf(needle, sizeof needle, "[::1]:%u: connection refused", up);
    CHECK(fwp_wait_log(fw, needle, 2000));
    CHECK_INT(ms, <, 200); /* a refusal does not wait for the attempt delay */
    TEST_PASS("first address refused -> the next one relays");

    if (!names_have("ip6tables")) {
        fprintf(stderr, "SKIP the silent-address part: ip6tables is not installed\n");
    } else {
        names_sh("ip6tables -w -A OUTPUT -p tcp -d ::1 --dport %u --syn -j DROP", up);
        ms = round_trip(port, lfd);
        fprintf(stderr, "::1 silent: relayed via 127.0.0.1 in %lld ms\n", (long long)ms);
        CHECK_INT(ms, >=, 200); /* the attempt delay (250 ms), give or take the timer */
        CHECK_INT(ms, <, 1500); /* and not connect_timeout (3 s) */
        TEST_PASS("first address silent -> the next one after the attempt delay");
    }

    /* the losing attempts' sockets are closed with the connections */
    CHECK_EQ(wait_fds(fw, base), base);
    TEST_PASS("no descriptor left behind");
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
