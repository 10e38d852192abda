/* SIGTERM reverts time-boxed faults at once: a FIN held by `delay_fin: forever` with `for:`
 * is released and the connection drains. A fault without `for` is the configuration asked
 * for: it stays through the graceful stop, until shutdown_timeout resets what is left. A
 * fault that ran out earlier changes nothing of that. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0, boxed, kept;
    int lfd = sk_listen("127.0.0.1", &up), c1, s1, c2, s2;
    struct fwp *fw = fwp_start(
        "shutdown_timeout: 2s\n"
        "proxies:\n"
        "  - name: boxed\n"
        "    listen: 127.0.0.1:0\n"
        "    upstream: 127.0.0.1:%u\n"
        "    faults: [{type: delay_fin, delay: forever, direction: downstream, for: 10m}]\n"
        "  - name: kept\n"
        "    listen: 127.0.0.1:0\n"
        "    upstream: 127.0.0.1:%u\n"
        "    faults:\n"
        "      - {type: delay_fin, delay: forever, direction: downstream}\n"
        "      - {type: latency, latency: 1, direction: upstream, for: 100ms}\n",
        up, up);
    struct sk_read r1, r2;
    int64_t t0;
    pid_t pid = fw->pid;

    boxed = fwp_port(fw, "boxed");
    kept = fwp_port(fw, "kept");
    CHECK(boxed != 0 && kept != 0);
    sk_pair(NULL, "127.0.0.1", boxed, lfd, &c1, &s1);
    sk_pair(NULL, "127.0.0.1", kept, lfd, &c2, &s2);
    CHECK_EQ(sk_write_all(s1, "one", 3, 1000), 0);
    CHECK_EQ(sk_write_all(s2, "two", 3, 1000), 0);
    sk_shut_wr(s1);
    sk_shut_wr(s2);
    CHECK_UINT(sk_read_n(c1, 3, 2000).bytes, ==, 3);
    CHECK_UINT(sk_read_n(c2, 3, 2000).bytes, ==, 3);
    CHECK(sk_silent(c1, 300)); /* both FINs held */
    CHECK(sk_silent(c2, 1));
    /* one fault ran out before the stop: the stop's own message must still be there (the list
     * of ran-out faults changes during the revert) */
    CHECK(fwp_wait_log(fw, "fault 'latency' of proxy 'kept' ran its 100ms: detached", 3000));

    t0 = now_ms();
    CHECK_EQ(kill(pid, SIGTERM), 0);
    r1 = sk_read_until_end(c1, 1500, false, 0);
    fprintf(stderr, "time-boxed: %s %lld ms after SIGTERM\n", sk_end_name(r1.end),
            (long long)(r1.end_ms - t0));
    CHECK_STR(sk_end_name(r1.end), "EOF");
    CHECK_INT(r1.end_ms - t0, <, 1000);
    CHECK(fwp_wait_log(fw,
                       "fault 'delay_fin' of proxy 'boxed' (for 10m) reverted: finwait is "
                       "stopping",
                       1000));
    /* the client closes its side: that connection is done, cleanly */
    sk_shut_wr(c1);
    r1 = sk_read_until_end(s1, 2000, false, 0);
    CHECK_STR(sk_end_name(r1.end), "EOF");
    TEST_PASS("SIGTERM reverts the time-boxed fault: its held FIN is released, it drains");

    r2 = sk_read_until_end(c2, 4000, false, 0);
    fprintf(stderr, "without for: %s %lld ms after SIGTERM\n", sk_end_name(r2.end),
            (long long)(r2.end_ms - t0));
    CHECK_STR(sk_end_name(r2.end), "ECONNRESET");
    CHECK_INT(r2.end_ms - t0, >=, 1900);
    TEST_PASS("a fault without for stays through the stop: shutdown_timeout resets it");

    CHECK_EQ(fwp_wait_exit(fw, 5000), 0);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 1000), 0);
    close(c1);
    close(s1);
    close(c2);
    close(s2);
    close(lfd);
    return 0;
}
