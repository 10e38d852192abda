/* A proxy whose process is below its descriptor limit altogether (the limit lowered under every
 * descriptor it holds, as a system-wide ENFILE can leave it: no spare descriptor helps) lets a
 * client wait in the backlog: it waits on a timer, it does not spin, the connections it relays
 * go on, and the waiting client is served once descriptors are free again. (libuv's accept,
 * which finwait used, called back and accepted again without end: a core used and the relay
 * frozen until the limit was raised.) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"
#include "starve.h"

#define STARVED_MS 1500

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: "
                               "127.0.0.1:%u}\n",
                               up);
    uint16_t port = fwp_port(fw, "t");
    uint64_t soft, hard;
    int64_t cpu0, cpu, t0, wall, rtt;
    int c0, s0, c, s;

    sk_pair(NULL, "127.0.0.1", port, lfd, &c0, &s0); /* relaying before, during and after */
    starve_get_nofile(fw->pid, &soft, &hard);
    starve_nofile(fw->pid, 3); /* below every descriptor but the standard three */
    cpu0 = starve_cpu_ms(fw->pid);
    t0 = now_ms();
    c = sk_connect("127.0.0.1", port, 5000); /* the kernel completes it: it waits in the backlog */
    CHECK(c >= 0);
    CHECK(sk_silent(c, STARVED_MS));
    rtt = sk_round_trip(c0, s0);
    cpu = starve_cpu_ms(fw->pid) - cpu0;
    wall = now_ms() - t0;
    fprintf(stderr, "starved %lld ms: finwait used %lld ms of CPU; a round trip took %lld ms\n",
            (long long)wall, (long long)cpu, (long long)rtt);
    CHECK_INT(cpu, <, wall / 10); /* a spinning loop uses all of it */
    CHECK(fwp_wait_log(fw, "none in reserve: waiting for it to come free", 3000));
    TEST_PASS("starved of descriptors, the listener waits: no spin, the relay goes on");

    starve_nofile(fw->pid, soft);
    s = sk_accept(lfd, 5000); /* within a retry of the timer */
    CHECK(s >= 0);
    sk_round_trip(c, s);
    TEST_PASS("the client that waited in the backlog is served once descriptors are free");

    close(c);
    close(s);
    close(c0);
    close(s0);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
