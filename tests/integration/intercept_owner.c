/* `intercept: {uid}`: only the connections of sockets owned by that user are taken (iptables'
 * owner match); the same connection made by another user (here root, the test itself) passes
 * untouched. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

static bool become_user(const void *arg)
{
    uid_t uid = *(const uid_t *)arg;

    return setgid(uid) == 0 && setuid(uid) == 0;
}

/* How a connection to the server ends when user `uid` makes it. */
static enum sk_end end_as(uid_t uid)
{
    return netpeer_greeting_end(become_user, &uid, "10.75.0.2", 5432, "10.75.0.1");
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
