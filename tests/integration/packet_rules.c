/* The packet engine's iptables chains exist only while finwait runs: removed at a normal exit
 * and on SIGTERM, reaped by the next start after a SIGKILL, removed by --cleanup. Without
 * CAP_NET_ADMIN a packet fault fails at start with one clear line; others need nothing. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "proc.h"

#define CFG                                                                                        \
    "proxies:\n  - name: p\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:9\n"                  \
    "    faults: [{type: drop_fin, leg: server, from: peer}]\n"

int main(void)
{
    struct fwp *fw, *fw2;
    char *out = NULL;
    const char *path;

    netns_enter(2);
    CHECK_EQ(netns_finwait_rules(), 0);
    fw = fwp_start(CFG);
    CHECK_INT(netns_finwait_rules(), >, 0);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    CHECK_EQ(netns_finwait_rules(), 0);
    TEST_PASS("rules removed on SIGTERM");

    fw = fwp_start(CFG);
    int one = netns_finwait_rules();
    CHECK(kill(fw->pid, SIGKILL) == 0);
    CHECK_EQ(fwp_wait_exit(fw, 5000), 128 + SIGKILL);
    CHECK_EQ(netns_finwait_rules(), one); /* a killed process cannot clean up */
    fw2 = fwp_start(CFG);
    CHECK_EQ(netns_finwait_rules(), one); /* the dead one's chains replaced by the new one's */
    CHECK_EQ(fwp_stop(fw2, SIGINT, 5000), 0);
    CHECK_EQ(netns_finwait_rules(), 0);
    fwp_stop(fw, SIGTERM, 100);
    TEST_PASS("chains of a killed finwait reaped at the next start");

    fw = fwp_start(CFG);
    CHECK(kill(fw->pid, SIGKILL) == 0);
    fwp_wait_exit(fw, 5000);
    CHECK_INT(netns_finwait_rules(), >, 0);
    CHECK_EQ(fwp_run((const char *[]){"--cleanup", NULL}, &out, 10000), 0);
    free(out);
    CHECK_EQ(netns_finwait_rules(), 0);
    fwp_stop(fw, SIGTERM, 100);
    TEST_PASS("--cleanup removes them");

    /* without CAP_NET_ADMIN (setpriv drops it from every set) */
    if (access("/usr/bin/setpriv", X_OK) == 0) {
        char cmd[512];
        FILE *f;
        path = fwp_tmpfile(0, "p.yaml", CFG);
        snprintf(cmd, sizeof cmd,
                 "setpriv --inh-caps=-net_admin --bounding-set=-net_admin %s -c %s 2>&1; "
                 "echo exit=$?",
                 FINWAIT_BIN, path);
        f = popen(cmd, "r");
        CHECK(f != NULL);
        char buf[4096] = "";
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        pclose(f);
        CHECK_CONTAINS(buf, "packet-level faults need CAP_NET_ADMIN");
        CHECK_CONTAINS(buf, "cap_add: [NET_ADMIN]");
        CHECK_CONTAINS(buf, "exit=1");
        TEST_PASS("no CAP_NET_ADMIN: one clear message, exit 1");
    }
    return 0;
}
