/* refuse: each connection is reset at once (mode reset) or closed with a FIN before any data
 * (mode close); finwait never connects to the server. enabled: false: connection refused. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;
    uint16_t up = 0;
    int lfd, c;
    struct fwp *fw;

    pair_start(&p, "[{type: refuse}]", "");
    r = sk_connect_read_end(NULL, "127.0.0.1", p.port, 3000);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK(sk_accept(p.lfd, 300) < 0); /* the server never saw a connection */
    pair_stop(&p);
    TEST_PASS("refuse mode reset: RST at once");

    pair_start(&p, "[{type: refuse, mode: close}]", "");
    pair_connect(&p, false);
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, 0);
    CHECK(sk_accept(p.lfd, 300) < 0);
    pair_stop(&p);
    TEST_PASS("refuse mode close: FIN before any data");

    lfd = sk_listen("127.0.0.1", &up);
    {
        /* a port that was free a moment ago: the disabled proxy is configured on it */
        uint16_t off_port = 0;
        int tmp = sk_listen("127.0.0.1", &off_port);
        close(tmp);
        fw = fwp_start("proxies:\n"
                       "  - {name: on, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                       "  - {name: off, listen: 127.0.0.1:%u, upstream: 127.0.0.1:%u, "
                       "enabled: false}\n",
                       up, off_port, up);
        CHECK(fwp_wait_log(fw, "off: disabled", 2000));
        c = sk_connect("127.0.0.1", off_port, 1000);
        CHECK_MSG(c < 0 && errno == ECONNREFUSED, "the disabled proxy accepted a connection");
    }
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("enabled: false opens no listener");
    return 0;
}
