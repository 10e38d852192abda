/*
 * An upstream name none of whose four addresses (two IPv6, two IPv4) answers. Every address
 * refuses: each is tried, the families alternating (RFC 8305), and the client gets an RST once
 * all failed. Every address drops the SYN (iptables in the test's own namespace): a new attempt
 * starts every 250 ms, and the client gets an RST at connect_timeout, which bounds them all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Bound on `host`, not listening: connects are refused, and no one else gets the port (finwait's
 * own ephemeral listeners included) while the test runs. port 0: an ephemeral one. */
static uint16_t refusing(const char *host, uint16_t port, int *fd)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    socklen_t len = sizeof ss;

    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
    } else {
        CHECK(inet_pton(AF_INET6, host, &in6->sin6_addr) == 1);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
    }
    *fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(*fd >= 0);
    CHECK_MSG(
        bind(*fd, (struct sockaddr *)&ss, ss.ss_family == AF_INET ? sizeof *in : sizeof *in6) == 0,
        "bind %s:%u: %s", host, port, strerror(errno));
    CHECK(getsockname(*fd, (struct sockaddr *)&ss, &len) == 0);
    return ntohs(ss.ss_family == AF_INET ? in->sin_port : in6->sin6_port);
}

/* The family of the address attempt `i` of connection #1 of `proxy` went to, from the log. */
static int attempt_family(struct fwp *fw, const char *proxy, int i)
{
    char needle[64], *log = fwp_log(fw), *at;
    int fam = 0;

    snprintf(needle, sizeof needle, "%s: #1: attempt %d: ", proxy, i);
    at = strstr(log, needle);
    if (at)
        fam = at[strlen(needle)] == '[' ? AF_INET6 : AF_INET;
    free(log);
    return fam;
}

int main(void)
{
    static const char *const addrs[] = {"::1", "fd00::2", "127.0.0.1", "127.0.0.2"};
    static const int order[] = {AF_INET6, AF_INET, AF_INET6, AF_INET};
    int fds[4];
    uint16_t up = 0, refused_port, silent_port;
    char needle[80];
    struct sk_read r;
    struct fwp *fw;
    int64_t t0;

    /* two addresses per family; the resolver sorts them ::1, 127.0.0.1, 127.0.0.2, fd00::2
     * (RFC 6724), and Happy Eyeballs alternates the families */
    names_enter("::1 four.test\nfd00::2 four.test\n127.0.0.1 four.test\n127.0.0.2 four.test\n",
                NULL);
    /* nodad: usable at once, not "tentative" while duplicate detection runs (bind fails then) */
    names_sh("ip addr add fd00::2/128 dev lo nodad");
    for (int i = 0; i < 4; i++)
        up = refusing(addrs[i], up, &fds[i]);
    fw = fwp_start("log: {level: debug}\n"
                   "proxies:\n"
                   "  - {name: refused, listen: 127.0.0.1:0, upstream: 'four.test:%u'}\n"
                   "  - {name: silent, listen: 127.0.0.1:0, upstream: 'four.test:%u', "
                   "connect_timeout: 1200ms}\n",
                   up, up);
    refused_port = fwp_port(fw, "refused");
    silent_port = fwp_port(fw, "silent");

    r = client_read(refused_port);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    for (int i = 0; i < 4; i++) {
        bool v6 = strchr(addrs[i], ':') != NULL;
        snprintf(needle, sizeof needle, "%s%s%s:%u: connection refused", v6 ? "[" : "", addrs[i],
                 v6 ? "]" : "", up);
        CHECK(fwp_wait_log(fw, needle, 2000));
    }
    CHECK(fwp_wait_log(fw, "error=connect: connection refused", 2000));
    for (int i = 0; i < 4; i++)
        CHECK_EQ(attempt_family(fw, "refused", i + 1), order[i]);
    TEST_PASS("every address refused -> client ECONNRESET after all four, families alternating");

    if (!names_have("iptables") || !names_have("ip6tables")) {
        fprintf(stderr, "SKIP the silent part: iptables is not installed\n");
    } else {
        names_sh("iptables -w -A OUTPUT -p tcp --dport %u --syn -j DROP", up);
        names_sh("ip6tables -w -A OUTPUT -p tcp --dport %u --syn -j DROP", up);
        t0 = now_ms();
        r = client_read(silent_port);
        CHECK_STR(sk_end_name(r.end), "ECONNRESET");
        fprintf(stderr, "every address silent: RST after %lld ms\n", (long long)(r.end_ms - t0));
        CHECK_INT(r.end_ms - t0, >=, 1150); /* never before connect_timeout */
        CHECK_INT(r.end_ms - t0, <, 2500);
        /* one attempt every 250 ms: the fourth started before connect_timeout ended them all */
        CHECK(fwp_wait_log(fw, "silent: #1: attempt 4: ", 1000));
        CHECK(fwp_wait_log(fw, "error=connect_timeout", 1000));
        TEST_PASS("every address silent -> client ECONNRESET at connect_timeout");
    }

    for (int i = 0; i < 4; i++)
        close(fds[i]);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
