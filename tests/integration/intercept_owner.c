/* `intercept: {uid}`: only the connections of sockets owned by that user are taken (iptables'
 * owner match); the same connection made by another user (here root, the test itself) passes
 * untouched. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "netpeer.h"
#include "proc.h"
#include "sock.h"

#define NOBODY 65534

static int greeter(void *arg)
{
    static const uint16_t ports[] = {5432};

    (void)arg;
    return netpeer_greeter(ports, 1);
}

/* How a connection to the server ends when user `uid` makes it (in a child). */
static enum sk_end end_as(uid_t uid)
{
    int st;
    pid_t pid = fork();

    CHECK(pid >= 0);
    if (pid == 0) {
        struct sk_read r;
        if (setgid(uid) != 0 || setuid(uid) != 0)
            _exit(100);
        r = sk_connect_read_end(NULL, "10.75.0.2", 5432, 3000);
        _exit(r.bytes == strlen("from 10.75.0.1\n") ? (int)r.end : 101);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    CHECK_INT(WEXITSTATUS(st), <, 100);
    return (enum sk_end)WEXITSTATUS(st);
}

int main(void)
{
    struct netpeer srv;
    struct fwp *fw;

    netns_enter(2);
    netpeer_start(&srv, 75, greeter, NULL);
    fw = fwp_start("proxies:\n  - name: db\n    listen: :0\n"
                   "    intercept: {ports: [5432], uid: %d}\n"
                   "    faults: [{type: rst_instead_of_fin, direction: downstream}]\n",
                   NOBODY);
    CHECK(fwp_wait_log(fw, "interception rules: 1 proxy", 5000));
    CHECK_STR(sk_end_name(end_as(NOBODY)), "ECONNRESET");
    CHECK(fwp_wait_log(fw, "original_destination=10.75.0.2:5432", 2000));
    CHECK_STR(sk_end_name(end_as(0)), "EOF");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("uid: that user's connection through finwait, root's untouched");
    netpeer_stop(&srv);
    return 0;
}
