/* The admin API answers again after an accept failed for want of descriptors: with one
 * descriptor free an admin connection takes it, the next client's accept fails (EMFILE), and
 * once the first closes the waiting client gets its answer, as does a later one. (libmicrohttpd
 * took its listening socket out of its set at that failure and nothing ran it again: the API
 * stayed deaf for good while the proxies relayed.) */
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

static void wait_fds(struct fwp *fw, int want)
{
    int n = -1;

    for (int64_t end = now_ms() + 5000; now_ms() < end; poll(NULL, 0, 10))
        if ((n = fwp_fd_count(fw)) == want)
            return;
    CHECK_EQ(n, want);
}

/* The failed accept as finwait or libmicrohttpd says it. */
static bool accept_failed(struct fwp *fw)
{
    for (int64_t end = now_ms() + 5000; now_ms() < end; poll(NULL, 0, 10)) {
        char *log = fwp_log(fw);
        bool said = strstr(log, "Too many open files") || strstr(log, "resource limit");
        free(log);
        if (said)
            return true;
    }
    return false;
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("admin: {listen: 127.0.0.1:0}\n"
                               "proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: "
                               "127.0.0.1:%u}\n",
                               up);
    uint16_t admin = fwp_admin_port(fw);
    int base = fwp_fd_count(fw), a, b, c;
    json_t *m;

    c = sk_connect("127.0.0.1", admin, 5000);
    CHECK_EQ(starve_get_version(c, 5000), 200);
    close(c);
    wait_fds(fw, base);

    starve_leave(fw->pid, 1);
    a = sk_connect("127.0.0.1", admin, 5000);
    CHECK(a >= 0);
    wait_fds(fw, base + 1);                   /* a has it */
    b = sk_connect("127.0.0.1", admin, 5000); /* the handshake completes in the backlog */
    CHECK(b >= 0);
    CHECK_MSG(accept_failed(fw), "no failed accept in the log");
    close(a);
    CHECK_EQ(starve_get_version(b, 5000), 200);
    close(b);
    c = sk_connect("127.0.0.1", admin, 5000);
    CHECK_EQ(starve_get_version(c, 5000), 200);
    close(c);
    wait_fds(fw, base);

    m = prom_scrape(admin);
    CHECK_DBL(prom_get(m, "finwait_admin_accept_failures_total{reason=\"emfile\"}"), >=, 1);
    json_decref(m);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("the admin API answers again once a descriptor is free");
    return 0;
}
