/* 2,000 connections opened, used and ended every way (client first, server first, client RST,
 * server RST): afterwards finwait holds exactly the descriptors it held before. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define CONNS 2000

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw =
        fwp_start("log: {level: warn}\n"
                  "proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                  up);
    uint16_t port = fwp_port(fw, "t");
    int base, now = -1;
    char b[8];

    base = fwp_fd_count(fw);
    for (int i = 0; i < CONNS; i++) {
        int c = sk_connect("127.0.0.1", port, 5000), s;
        CHECK_MSG(c >= 0, "connection %d", i);
        s = sk_accept(lfd, 5000);
        CHECK_MSG(s >= 0, "accept %d", i);
        CHECK_EQ(sk_write_all(c, "x", 1, 5000), 0);
        CHECK_UINT(sk_read_n(s, 1, 5000).bytes, ==, 1);
        switch (i % 4) {
        case 0: /* client closes first, then the server */
            close(c);
            CHECK_STR(sk_end_name(sk_read_until_end(s, 5000, false, 0).end), "EOF");
            close(s);
            break;
        case 1: /* server first */
            close(s);
            CHECK_STR(sk_end_name(sk_read_until_end(c, 5000, false, 0).end), "EOF");
            close(c);
            break;
        case 2:
            sk_reset(c);
            CHECK_STR(sk_end_name(sk_read_until_end(s, 5000, false, 0).end), "ECONNRESET");
            close(s);
            break;
        default:
            sk_reset(s);
            CHECK_STR(sk_end_name(sk_read_until_end(c, 5000, false, 0).end), "ECONNRESET");
            close(c);
        }
    }
    (void)b;
    for (int64_t end = now_ms() + 10000; now_ms() < end;) {
        now = fwp_fd_count(fw);
        if (now == base)
            break;
        poll(NULL, 0, 10);
    }
    fprintf(stderr, "finwait fds: %d before, %d after %d connections\n", base, now, CONNS);
    CHECK_EQ(now, base);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("no descriptor leak over 2,000 connections");
    return 0;
}
