/*
 * An upstream name none of whose addresses answers. Every address refuses: the client gets
 * an RST once all were tried, each refusal logged. Every address drops the SYN (iptables in
 * the test's own namespace): every address is tried, and the client gets an RST at
 * connect_timeout, which bounds all the attempts together.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "names.h"
#include "proc.h"
#include "sock.h"

/* The reset may overtake the client at any step (connect, write, read). */
static struct sk_read client_read(uint16_t port)
{
    int c = sk_connect("127.0.0.1", port, 5000), w;
    struct sk_read r = {.end = SK_RESET};

    if (c < 0) {
        CHECK_MSG(errno == ECONNRESET, "connect to %u: %s", port, strerror(errno));
        r.end_ms = now_ms();
        return r;
    }
    w = sk_write_all(c, "hello", 5, 5000);
    CHECK_MSG(w == 0 || w == -ECONNRESET || w == -EPIPE, "write: %s", strerror(-w));
    if (w == 0)
        r = sk_read_until_end(c, 10000, false, 0);
    else
        r.end_ms = now_ms();
    close(c);
    return r;
}

/* Bound on both loopback addresses, listening on neither: connects are refused, and no one
 * else gets the port while the test runs. */
static uint16_t refusing_port(int fds[2])
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t len = sizeof sin;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fds[0] >= 0 && bind(fds[0], (struct sockaddr *)&sin, sizeof sin) == 0);
    CHECK(getsockname(fds[0], (struct sockaddr *)&sin, &len) == 0);
    sin6.sin6_port = sin.sin_port;
    fds[1] = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK(fds[1] >= 0);
    CHECK_MSG(bind(fds[1], (struct sockaddr *)&sin6, sizeof sin6) == 0, "bind [::1]:%u: %s",
              ntohs(sin.sin_port), strerror(errno));
    return ntohs(sin.sin_port);
}

int main(void)
{
    int fds[2];
    uint16_t up, refused_port, silent_port;
    char needle[80];
    struct sk_read r;
    struct fwp *fw;
    int64_t t0;

    names_enter("::1 both.test\n127.0.0.1 both.test\n", NULL);
    up = refusing_port(fds);
    fw = fwp_start("log: {level: debug}\n"
                   "proxies:\n"
                   "  - {name: refused, listen: 127.0.0.1:0, upstream: 'both.test:%u'}\n"
                   "  - {name: silent, listen: 127.0.0.1:0, upstream: 'both.test:%u', "
                   "connect_timeout: 800ms}\n",
                   up, up);
    refused_port = fwp_port(fw, "refused");
    silent_port = fwp_port(fw, "silent");

    r = client_read(refused_port);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    snprintf(needle, sizeof needle, "#1: attempt 1: [::1]:%u: connection refused", up);
    CHECK(fwp_wait_log(fw, needle, 2000));
    snprintf(needle, sizeof needle, "#1: attempt 2: 127.0.0.1:%u: connection refused", up);
    CHECK(fwp_wait_log(fw, needle, 2000));
    CHECK(fwp_wait_log(fw, "error=connect: connection refused", 2000));
    TEST_PASS("every address refused -> client ECONNRESET after both were tried");

    if (!names_have("iptables") || !names_have("ip6tables")) {
        fprintf(stderr, "SKIP the silent part: iptables is not installed\n");
    } else {
        names_sh("iptables -w -A OUTPUT -p tcp -d 127.0.0.1 --dport %u --syn -j DROP", up);
        names_sh("ip6tables -w -A OUTPUT -p tcp -d ::1 --dport %u --syn -j DROP", up);
        t0 = now_ms();
        r = client_read(silent_port);
        CHECK_STR(sk_end_name(r.end), "ECONNRESET");
        fprintf(stderr, "every address silent: RST after %lld ms\n", (long long)(r.end_ms - t0));
        CHECK_INT(r.end_ms - t0, >=, 750); /* never before connect_timeout */
        CHECK_INT(r.end_ms - t0, <, 2000);
        snprintf(needle, sizeof needle, "silent: #1: attempt 2: 127.0.0.1:%u\n", up);
        CHECK(fwp_wait_log(fw, needle, 1000));
        CHECK(fwp_wait_log(fw, "error=connect_timeout", 1000));
        TEST_PASS("every address silent -> client ECONNRESET at connect_timeout");
    }

    close(fds[0]);
    close(fds[1]);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
