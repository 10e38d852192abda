/* SIGTERM: finwait stops accepting at once, open connections keep flowing until
 * shutdown_timeout, then are reset; finwait exits 0 within shutdown_timeout + a margin. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up), c, s, late;
    struct fwp *fw =
        fwp_start("shutdown_timeout: 1s\n"
                  "proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                  up);
    uint16_t port = fwp_port(fw, "t");
    struct sk_read r;
    int64_t t0;

    c = sk_connect("127.0.0.1", port, 5000);
    CHECK(c >= 0);
    s = sk_accept(lfd, 5000);
    CHECK(s >= 0);
    t0 = now_ms();
    CHECK(kill(fw->pid, SIGTERM) == 0);
    CHECK(fwp_wait_log(fw, "SIGTERM received", 2000));
    /* no new connections */
    late = sk_connect("127.0.0.1", port, 2000);
    CHECK_MSG(late < 0 && errno == ECONNREFUSED, "a connection after SIGTERM was not refused");
    /* the open one still relays both ways */
    CHECK_EQ(sk_write_all(c, "ping", 4, 2000), 0);
    CHECK_UINT(sk_read_n(s, 4, 2000).bytes, ==, 4);
    CHECK_EQ(sk_write_all(s, "pong", 4, 2000), 0);
    CHECK_UINT(sk_read_n(c, 4, 2000).bytes, ==, 4);
    /* then it is reset at shutdown_timeout */
    r = sk_read_until_end(c, 5000, false, 0);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK_INT(r.end_ms - t0, >=, 950);
    r = sk_read_until_end(s, 5000, false, 0);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK_EQ(fwp_wait_exit(fw, 3000), 0);
    CHECK_INT(now_ms() - t0, <, 3000);
    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 1000), 0);
    TEST_PASS("SIGTERM: drain for shutdown_timeout, reset the rest, exit 0");
    return 0;
}
