/* While no descriptor is free and an admin client waits, finwait waits on a timer: its CPU
 * time (from /proc/PID/stat) stays low and its log says it once per interval, not tens of
 * thousands of times a second. When a descriptor frees the client gets its answer. (The
 * listening socket stayed readable in libmicrohttpd's set: 0.99 of a core and 31 MB of log a
 * second.) */
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

#define STARVED_MS 2000

static size_t log_len(struct fwp *fw)
{
    char *log = fwp_log(fw);
    size_t n = strlen(log);

    free(log);
    return n;
}

int main(void)
{
    struct fwp *fw = fwp_start("admin: {listen: 127.0.0.1:0}\nproxies: []\n");
    uint16_t admin = fwp_admin_port(fw);
    int c;
    int64_t cpu0, cpu, t0, wall;
    size_t log0, grown;
    json_t *m;

    starve_leave(fw->pid, 0);
    log0 = log_len(fw);
    cpu0 = starve_cpu_ms(fw->pid);
    t0 = now_ms();
    c = sk_connect("127.0.0.1", admin, 5000); /* waits in the backlog */
    CHECK(c >= 0);
    CHECK(sk_silent(c, STARVED_MS));
    cpu = starve_cpu_ms(fw->pid) - cpu0;
    wall = now_ms() - t0;
    grown = log_len(fw) - log0;
    fprintf(stderr, "starved %lld ms: finwait used %lld ms of CPU, logged %zu bytes\n",
            (long long)wall, (long long)cpu, grown);
    CHECK_INT(cpu, <, wall / 10); /* a spinning loop uses all of it */
    CHECK_UINT(grown, <, 2048);   /* a line a second, not 31 MB */
    CHECK_UINT(grown, >, 0);      /* and it is said */

    starve_leave(fw->pid, 1);
    CHECK_EQ(starve_get_version(c, 5000), 200);
    close(c);
    starve_leave(fw->pid, 16);
    m = prom_scrape(admin);
    CHECK_DBL(prom_get(m, "finwait_admin_accept_failures_total{reason=\"emfile\"}"), >=, 1);
    json_decref(m);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("no spin and no log flood while starved of descriptors");
    return 0;
}
