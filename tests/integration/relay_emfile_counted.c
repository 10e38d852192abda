/* Clients a proxy accepts while no descriptor is free are closed at once (they read EOF rather
 * than hang), and each one is counted (finwait_accept_failures_total{reason="emfile"}) and
 * said in the log; the proxy relays again once descriptors are free. (libuv accepted and
 * closed them itself, leaving no trace.) */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "prom.h"
#include "sock.h"
#include "starve.h"

#define REFUSED 10

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("admin: {listen: 127.0.0.1:0}\n"
                               "proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: "
                               "127.0.0.1:%u}\n",
                               up);
    uint16_t admin = fwp_admin_port(fw), port = fwp_port(fw, "t");
    uint64_t soft, hard;
    int c, s;
    json_t *m;

    starve_get_nofile(fw->pid, &soft, &hard);
    starve_leave(fw->pid, 0);
    for (int i = 0; i < REFUSED; i++) {
        struct sk_read r = sk_connect_read_end(NULL, "127.0.0.1", port, 5000);
        CHECK_MSG(r.end == SK_EOF || r.end == SK_RESET, "client %d: %s", i, sk_end_name(r.end));
    }
    CHECK(fwp_wait_log(fw, "accept: too many open files", 5000));
    starve_nofile(fw->pid, soft);

    m = prom_scrape(admin);
    CHECK_DBL(prom_get(m, "finwait_accept_failures_total{proxy=\"t\",reason=\"emfile\"}"), ==,
              REFUSED);
    CHECK_DBL(prom_get(m, "finwait_connections_total{proxy=\"t\"}"), ==, 0);
    json_decref(m);

    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s); /* served again */
    CHECK_EQ(sk_write_all(c, "x", 1, 5000), 0);
    CHECK_UINT(sk_read_n(s, 1, 5000).bytes, ==, 1);
    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("connections closed for want of descriptors are counted and logged");
    return 0;
}
