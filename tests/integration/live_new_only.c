/* `connections: new` asks for the old behaviour: a fault added by a reload reaches the
 * connections accepted after it, and leaves the open ones alone. */
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
    int lfd = sk_listen("127.0.0.1", &up), c0, s0, c1, s1;
    struct fwp *fw = fwp_start(CONFIG, 0, up, "");

    port = fwp_port(fw, "t");
    CHECK(port != 0);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c0, &s0);
    CHECK_INT(sk_round_trip(c0, s0), <, 100);
    CHECK(fwp_reload(fw, CONFIG, port, up,
                     ",\n     faults: [{type: latency, latency: 300, connections: new}]"));
    sk_pair(NULL, "127.0.0.1", port, lfd, &c1, &s1);
    CHECK_INT(sk_round_trip(c1, s1), >=, 295);
    CHECK_INT(sk_round_trip(c0, s0), <, 100);
    TEST_PASS("connections: new reaches new connections only");

    /* and removed, it stays on the connections that have it */
    CHECK(fwp_reload(fw, CONFIG, port, up, ""));
    CHECK_INT(sk_round_trip(c1, s1), >=, 295);
    CHECK_INT(sk_round_trip(c0, s0), <, 100);
    TEST_PASS("a connections: new fault removed stays on the open connections that have it");

    close(c0);
    close(s0);
    close(c1);
    close(s1);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
