/* "Reset every open connection now": a `reset` with `after: 0` added by a reload resets every
 * idle pooled connection at once, both peers see ECONNRESET; new connections too. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define CONFIG                                                                                     \
    "proxies:\n"                                                                                   \
    "  - {name: t, listen: 127.0.0.1:%u, upstream: 127.0.0.1:%u%s}\n"
#define N 4

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), c[N], s[N];
    struct fwp *fw = fwp_start(CONFIG, 0, up, "");
    struct sk_read r;
    int64_t t0;

    port = fwp_port(fw, "t");
    CHECK(port != 0);
    for (int i = 0; i < N; i++) {
        sk_pair(NULL, "127.0.0.1", port, lfd, &c[i], &s[i]);
        CHECK_EQ(sk_write_all(c[i], "q", 1, 1000), 0);
        CHECK_UINT(sk_read_n(s[i], 1, 2000).bytes, ==, 1);
    }
    t0 = now_ms();
    CHECK(fwp_reload(fw, CONFIG, port, up, ",\n     faults: [{type: reset, after: 0}]"));
    for (int i = 0; i < N; i++) {
        r = sk_read_until_end(c[i], 2000, false, 0);
        CHECK_STR(sk_end_name(r.end), "ECONNRESET");
        CHECK_INT(r.end_ms - t0, <, 1000);
        r = sk_read_until_end(s[i], 2000, false, 0);
        CHECK_STR(sk_end_name(r.end), "ECONNRESET");
        CHECK_INT(r.end_ms - t0, <, 1000);
        close(c[i]);
        close(s[i]);
    }
    TEST_PASS("reset after 0 added: every idle open connection gets ECONNRESET at once");

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
