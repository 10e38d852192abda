/* finwait raises its soft descriptor limit to the hard one at start (a shell's usual 1024
 * allowed about 500 connections), says so on its first line and in --check, and shows it as
 * process_max_fds. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "check.h"
#include "proc.h"
#include "prom.h"
#include "starve.h"

#define STARTED_WITH 512

int main(void)
{
    struct rlimit mine, low;
    uint64_t soft, hard;
    char want[128], *out;
    struct fwp *fw;
    json_t *m;

    CHECK(getrlimit(RLIMIT_NOFILE, &mine) == 0);
    if (mine.rlim_max <= STARTED_WITH) {
        fprintf(stderr, "skip: the hard limit (%llu) leaves nothing to raise\n",
                (unsigned long long)mine.rlim_max);
        return 77;
    }
    low = mine;
    low.rlim_cur = STARTED_WITH; /* finwait inherits it */
    CHECK_MSG(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit: %s", strerror(errno));
    fw = fwp_start("admin: {listen: 127.0.0.1:0}\nproxies: []\n");
    starve_get_nofile(fw->pid, &soft, &hard);
    CHECK_UINT(hard, ==, mine.rlim_max);
    CHECK_UINT(soft, ==, hard);
    snprintf(want, sizeof want, "open files limit %llu (raised from %d)", (unsigned long long)hard,
             STARTED_WITH);
    out = fwp_log(fw);
    CHECK_CONTAINS(out, want);
    CHECK_CONTAINS(out, "connections");
    free(out);
    m = prom_scrape(fwp_admin_port(fw));
    CHECK_DBL(prom_get(m, "process_max_fds{}"), ==, (double)hard);
    json_decref(m);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);

    CHECK_EQ(fwp_run(
                 (const char *[]){
                     "--check", "-c",
                     fwp_tmpfile(
                         0, "f.yaml",
                         "proxies:\n  - {name: a, listen: 127.0.0.1:0, upstream: 127.0.0.1:1}\n"),
                     NULL},
                 &out, 5000),
             0);
    CHECK_CONTAINS(out, want);
    free(out);
    CHECK(setrlimit(RLIMIT_NOFILE, &mine) == 0);
    TEST_PASS("the soft descriptor limit is raised to the hard one");
    return 0;
}
