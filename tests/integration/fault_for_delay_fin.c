/* `delay_fin: forever` with `for:` in the file holds a connection's FIN until the fault runs
 * out, then releases it: the client reads EOF, no sooner than the time box allows. The clock
 * starts when finwait starts. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define FOR_MS 1500

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    int64_t t_before = now_ms(), t_started;
    struct fwp *fw =
        fwp_start("proxies:\n"
                  "  - name: t\n"
                  "    listen: 127.0.0.1:0\n"
                  "    upstream: 127.0.0.1:%u\n"
                  "    faults:\n"
                  "      - {type: delay_fin, delay: forever, direction: downstream, for: 1500ms}\n",
                  up);
    struct sk_read r;

    t_started = now_ms();
    port = fwp_port(fw, "t");
    CHECK(port != 0);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_EQ(sk_write_all(s, "bye", 3, 1000), 0);
    sk_shut_wr(s);
    r = sk_read_until_end(c, FOR_MS + 5000, false, 0);
    fprintf(stderr, "EOF %lld ms after finwait was started (%lld after it listened)\n",
            (long long)(r.end_ms - t_before), (long long)(r.end_ms - t_started));
    CHECK_UINT(r.bytes, ==, 3);
    CHECK_STR(sk_end_name(r.end), "EOF");
    /* the clock started after t_before: the FIN cannot come sooner than that allows */
    CHECK_INT(r.end_ms - t_before, >=, FOR_MS - 20);
    CHECK_INT(r.end_ms - t_started, <, FOR_MS + 2000);
    CHECK(fwp_wait_log(fw, "fault 'delay_fin' of proxy 't' ran its 1500ms: detached", 1000));
    TEST_PASS("the held FIN is released when the time box runs out: the client reads EOF");

    /* the other direction closes normally: nothing of the fault is left */
    CHECK_EQ(sk_write_all(c, "last", 4, 1000), 0);
    CHECK_UINT(sk_read_n(s, 4, 2000).bytes, ==, 4);
    sk_shut_wr(c);
    r = sk_read_until_end(s, 2000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    close(c);
    close(s);

    /* a new connection does not get it either */
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    sk_shut_wr(s);
    r = sk_read_until_end(c, 1000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    TEST_PASS("after it ran out, new connections relay their FIN at once");

    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
