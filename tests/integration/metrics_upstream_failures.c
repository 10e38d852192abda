/* finwait_upstream_connect_failures_total says why each connection to the upstream failed:
 * refused (a port bound, not listening), dns (a name no server answers for), timeout (a
 * listener whose queue is full: its SYNs go unanswered), unreachable (no route in a namespace
 * with only lo). One connection each, one count each, under its own reason only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "names.h"
#include "proc.h"
#include "prom.h"
#include "sock.h"

static const char *const reasons[] = {"refused", "timeout", "unreachable", "dns", "other"};

/* Connect through proxy `name` and read until the connection ends: the client gets a reset. */
static void fail_once(struct fwp *fw, const char *name)
{
    struct sk_read r = sk_connect_read_end(NULL, "127.0.0.1", fwp_port(fw, name), 10000);

    CHECK_MSG(r.end == SK_RESET, "proxy %s: %s", name, sk_end_name(r.end));
}

/* Each proxy's failures: 1 under `reason`, 0 under every other. */
static void check_reasons(uint16_t admin, const char *proxy, const char *reason)
{
    json_t *m = prom_scrape(admin);
    char key[200];

    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        snprintf(key, sizeof key,
                 "finwait_upstream_connect_failures_total{proxy=\"%s\",reason=\"%s\"}", proxy,
                 reasons[i]);
        CHECK_MSG(prom_get(m, key) == (strcmp(reasons[i], reason) == 0 ? 1 : 0), "%s = %g", key,
                  prom_get(m, key));
    }
    json_decref(m);
}

int main(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    uint16_t closed_port, full_port = 0, admin;
    int probe, full, q1, q2;
    struct fwp *fw;

    /* no DNS server answers in the namespace: nothing listens on its 127.0.0.1:53 */
    names_enter("127.0.0.1 localhost\n", "nameserver 127.0.0.1\n");
    probe = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(probe >= 0 && bind(probe, (struct sockaddr *)&sin, sizeof sin) == 0);
    CHECK(getsockname(probe, (struct sockaddr *)&sin, &len) == 0);
    closed_port = ntohs(sin.sin_port);
    full = sk_listen("127.0.0.1", &full_port);
    CHECK(listen(full, 0) == 0);
    q1 = sk_connect("127.0.0.1", full_port, 2000);
    q2 = sk_connect("127.0.0.1", full_port, 300); /* may or may not fit in the queue */

    fw = fwp_start("admin: {listen: 127.0.0.1:0}\n"
                   "proxies:\n"
                   "  - {name: refused, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                   "  - {name: dns, listen: 127.0.0.1:0, upstream: no-such-host.invalid:80}\n"
                   "  - {name: slow, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u, "
                   "connect_timeout: 500ms}\n"
                   "  - {name: noroute, listen: 127.0.0.1:0, upstream: 10.255.255.1:80}\n",
                   closed_port, full_port);
    admin = http_admin_port(fw);

    fail_once(fw, "refused");
    check_reasons(admin, "refused", "refused");
    fail_once(fw, "dns");
    check_reasons(admin, "dns", "dns");
    fail_once(fw, "slow");
    check_reasons(admin, "slow", "timeout");
    fail_once(fw, "noroute");
    check_reasons(admin, "noroute", "unreachable");
    TEST_PASS("refused, dns, timeout, unreachable: one count each, under its reason");

    if (q1 >= 0)
        close(q1);
    if (q2 >= 0)
        close(q2);
    close(full);
    close(probe);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
