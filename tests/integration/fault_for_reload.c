/* A reload that keeps a `for:` fault unchanged keeps its clock; once it ran out, a reload of
 * the same file keeps it detached (a time-boxed injection never comes back by itself); a
 * changed definition attaches it again with a new clock. Seen on a pooled connection. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define CONFIG                                                                                     \
    "proxies:\n"                                                                                   \
    "  - name: db\n"                                                                               \
    "    listen: 127.0.0.1:%u\n"                                                                   \
    "    upstream: 127.0.0.1:%u\n"                                                                 \
    "    faults:\n"                                                                                \
    "      - {type: latency, latency: %d, for: %s}\n"

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    int64_t t_before = now_ms(), t_started, t_reload, gone, rt;
    struct fwp *fw = fwp_start(CONFIG, 0, up, 200, "3s");
    char *log;

    t_started = now_ms();
    port = fwp_port(fw, "db");
    CHECK(port != 0);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_INT(sk_round_trip(c, s), >=, 195);

    /* halfway, the same file again: a restarted clock would end it 3 s from here */
    usleep(1500 * 1000);
    t_reload = now_ms();
    CHECK(fwp_reload(fw, CONFIG, port, up, 200, "3s"));
    CHECK_INT(sk_round_trip(c, s), >=, 195);
    CHECK(fwp_wait_log(fw, "fault 'latency' of proxy 'db' ran its 3s: detached", 6000));
    gone = now_ms();
    fprintf(stderr, "ran out %lld ms after the start, %lld after the reload\n",
            (long long)(gone - t_started), (long long)(gone - t_reload));
    CHECK_INT(gone - t_before, >=, 3000 - 20);
    CHECK_INT(gone - t_started, <, 3000 + 1000);
    CHECK_INT(gone - t_reload, <, 3000); /* not restarted by the reload */
    rt = sk_round_trip(c, s);
    CHECK_INT(rt, <, 100);
    TEST_PASS("an unchanged reload keeps the clock; the fault leaves the open connection");

    /* the file still has it, unchanged: it stays detached, and the log says why */
    CHECK(fwp_reload(fw, CONFIG, port, up, 200, "3s"));
    CHECK(fwp_wait_log(fw, "ran its 3s before: it stays detached", 1000));
    CHECK_INT(sk_round_trip(c, s), <, 100);
    TEST_PASS("a reload of the unchanged file leaves the fault that ran out detached");

    /* changed: attached again, with a clock of its own */
    CHECK(fwp_reload(fw, CONFIG, port, up, 300, "700ms"));
    t_reload = now_ms();
    rt = sk_round_trip(c, s);
    fprintf(stderr, "after the change: %lld ms\n", (long long)rt);
    CHECK_INT(rt, >=, 295);
    CHECK(fwp_wait_log(fw, "ran its 700ms: detached", 5000));
    gone = now_ms();
    CHECK_INT(gone - t_reload, <, 700 + 2000);
    CHECK_INT(sk_round_trip(c, s), <, 100);
    TEST_PASS("a changed definition attaches it again and its new clock ends it");

    /* one "reloaded" line per SIGHUP: running out is not a reload */
    log = fwp_log(fw);
    int n = 0;
    for (const char *p = log; (p = strstr(p, "reloaded ")) != NULL; p++)
        n++;
    free(log);
    CHECK_INT(n, ==, 3);

    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
