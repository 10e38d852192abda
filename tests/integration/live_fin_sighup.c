/* A fault added by SIGHUP reaches a connection already open: `delay_fin: forever` holds its
 * next FIN; removing the fault (another SIGHUP) releases the FIN at once. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define CONFIG                                                                                     \
    "proxies:\n"                                                                                   \
    "  - {name: t, listen: 127.0.0.1:%u, upstream: 127.0.0.1:%u%s}\n"

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fwp *fw = fwp_start(CONFIG, 0, up, "");
    struct sk_read r;
    int64_t t0;

    port = fwp_port(fw, "t");
    CHECK(port != 0);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_EQ(sk_write_all(s, "hello", 5, 1000), 0);
    CHECK_UINT(sk_read_n(c, 5, 2000).bytes, ==, 5);

    CHECK(fwp_reload(fw, CONFIG, port, up,
                     ",\n     faults: [{type: delay_fin, delay: forever, direction: downstream}]"));
    CHECK_EQ(sk_write_all(s, "bye", 3, 1000), 0);
    sk_shut_wr(s);
    r = sk_read_until_end(c, 700, false, 0);
    CHECK_UINT(r.bytes, ==, 3);
    CHECK_STR(sk_end_name(r.end), "timeout"); /* bytes through, the FIN held */
    TEST_PASS("delay_fin forever added by SIGHUP holds the open connection's next FIN");

    t0 = now_ms();
    CHECK(fwp_reload(fw, CONFIG, port, up, ""));
    r = sk_read_until_end(c, 2000, false, 0);
    fprintf(stderr, "FIN released %lld ms after the reload began\n", (long long)(r.end_ms - t0));
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - t0, <, 1000);
    /* the other direction still works, then closes normally */
    CHECK_EQ(sk_write_all(c, "last", 4, 1000), 0);
    CHECK_UINT(sk_read_n(s, 4, 2000).bytes, ==, 4);
    sk_shut_wr(c);
    r = sk_read_until_end(s, 2000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    TEST_PASS("removing delay_fin releases the held FIN at once");

    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
