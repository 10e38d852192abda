/* Whatever a dead finwait left in iptables is cleaned up: a chain whose jump rule is gone (or
 * that sits in only one family) no longer makes every start with a packet fault fail, a chain
 * whose pid another program has now is stale too, and --cleanup removes them, says what it
 * removed, and says "nothing to remove" the second time. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "proc.h"

#define CFG                                                                                        \
    "proxies:\n  - name: p\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:9\n"                  \
    "    faults: [{type: drop_fin, leg: server, from: peer}]\n"

/* A pid no process has now: a child that has already been reaped. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();

    CHECK(pid >= 0);
    if (pid == 0)
        _exit(0);
    CHECK(waitpid(pid, NULL, 0) == pid);
    return pid;
}

static void sh(const char *fmt, long pid)
{
    char cmd[512];

    snprintf(cmd, sizeof cmd, fmt, pid, pid, pid, pid);
    CHECK_MSG(system(cmd) == 0, "%s", cmd);
}

/* What a finwait killed in the middle of its exit leaves: the jumps were deleted, the chains
 * (one with its rules) were not; in IPv6 only the OUT chain. */
static void leave_chains(long pid)
{
    sh("iptables -w -t mangle -N FINWAIT-%ld-OUT && iptables -w -t mangle -N FINWAIT-%ld-IN && "
       "iptables -w -t mangle -A FINWAIT-%ld-IN -p tcp -j RETURN && "
       "ip6tables -w -t mangle -N FINWAIT-%ld-OUT",
       pid);
}

int main(void)
{
    struct fwp *fw;
    char *out = NULL, want[128];
    long pid;

    netns_enter(2);
    pid = dead_pid();
    leave_chains(pid);
    CHECK_INT(netns_finwait_rules(), >, 0);
    fw = fwp_start(CFG); /* aborts the test if finwait does not start */
    CHECK(fwp_port(fw, "p") != 0);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    CHECK_EQ(netns_finwait_rules(), 0);
    TEST_PASS("a chain without its jump rule is reaped at start, not fatal");

    /* the dead finwait's pid now belongs to another program (this test) */
    leave_chains((long)getpid());
    fw = fwp_start(CFG);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    CHECK_EQ(netns_finwait_rules(), 0);
    TEST_PASS("a chain whose pid was reused by another program is reaped");

    pid = dead_pid();
    leave_chains(pid);
    CHECK_EQ(fwp_run((const char *[]){"--cleanup", NULL}, &out, 10000), 0);
    snprintf(want, sizeof want, "removed FINWAIT-%ld-OUT", pid);
    CHECK_CONTAINS(out, want);
    snprintf(want, sizeof want, "removed FINWAIT-%ld-IN", pid);
    CHECK_CONTAINS(out, want);
    free(out);
    CHECK_EQ(netns_finwait_rules(), 0);
    CHECK_EQ(fwp_run((const char *[]){"--cleanup", NULL}, &out, 10000), 0);
    CHECK_CONTAINS(out, "nothing to remove");
    free(out);
    TEST_PASS("--cleanup removes them and says what it removed, or that there was nothing");
    return 0;
}
