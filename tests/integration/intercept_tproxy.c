/* Transparent interception, the gateway case: finwait's namespace routes between a client's
 * namespace and a server's. With `mode: tproxy` the client's connections to the server pass
 * through finwait (the client sees the fault's RST), and the server sees the client's own
 * address, not the gateway's: finwait speaks to it from the client's address. IPv4 and
 * IPv6. finwait starts where iproute2's `ip` cannot be run (as in its image): it sets the
 * policy route over rtnetlink. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "netpeer.h"
#include "proc.h"
#include "sock.h"

struct client {
    int go[2];     /* the test writes the server's address when finwait is ready */
    int result[2]; /* the client answers what it read and how it ended */
};

static int greeter(void *arg)
{
    static const uint16_t ports[] = {5432, 5433};

    (void)arg;
    return netpeer_greeter(ports, 2);
}

/* In the client's namespace: for each address the test sends, connect to it at port 5432 (or
 * the port after a '#'), read to the end, answer "<text>|<how it ended>". */
static int client(void *arg)
{
    struct client *cl = arg;
    char addr[64];
    ssize_t n;

    close(cl->go[1]); /* the test's ends: the loop ends when the test closes go */
    close(cl->result[0]);
    netpeer_ready();
    while ((n = read(cl->go[0], addr, sizeof addr - 1)) > 0) {
        char text[256] = "", reply[320];
        char *hash;
        uint16_t port = 5432;
        int fd, got = 0;
        bool reset;
        struct sk_read r;

        addr[n] = '\0';
        hash = strchr(addr, '#');
        if (hash) {
            *hash = '\0';
            port = (uint16_t)atoi(hash + 1);
        }
        fd = sk_connect_seen(NULL, addr, port, 3000, &reset);
        if (fd < 0) {
            snprintf(reply, sizeof reply, "|connect failed");
        } else {
            /* a reset that lands before connect() returns is a reset the client saw, after
             * the bytes before it */
            const char *end = reset ? "ECONNRESET" : NULL;
            /* the greeting, then how the connection ends (a reset may come first) */
            while (got < (int)sizeof text - 1) {
                ssize_t k = read(fd, text + got, 1);
                if (k < 0 && errno == ECONNRESET)
                    end = "ECONNRESET";
                if (k <= 0 || text[got++] == '\n')
                    break;
            }
            text[got] = '\0';
            if (!end) {
                r = sk_read_until_end(fd, 3000, false, 0);
                end = sk_end_name(r.end);
            }
            snprintf(reply, sizeof reply, "%s|%s", text, end);
            close(fd);
        }
        if (write(cl->result[1], reply, strlen(reply)) < 0)
            return 1;
    }
    return 0;
}

static void ask(struct client *cl, const char *addr, const char *want)
{
    char reply[320];
    ssize_t n;

    CHECK(write(cl->go[1], addr, strlen(addr)) == (ssize_t)strlen(addr));
    n = read(cl->result[0], reply, sizeof reply - 1);
    CHECK(n > 0);
    reply[n] = '\0';
    CHECK_STR(reply, want);
}

/* Make iproute2's `ip` impossible to run (`hide`: /dev/null mounted over it, in a mount
 * namespace of this process's, which finwait inherits), or runnable again. */
static void hide_ip(bool hide)
{
    static char ip[PATH_MAX];

    if (hide) {
        CHECK(realpath("/usr/sbin/ip", ip) != NULL);
        CHECK(unshare(CLONE_NEWNS) == 0);
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
        CHECK(mount("/dev/null", ip, NULL, MS_BIND, NULL) == 0);
        CHECK(access("/usr/sbin/ip", X_OK) != 0);
    } else {
        CHECK(umount2(ip, 0) == 0);
    }
}

int main(void)
{
    struct netpeer cli, srv;
    struct client cl;
    struct fwp *fw;

    netns_enter(2);
    netpeer_sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
    netpeer_start(&srv, 74, greeter, NULL);
    CHECK(pipe(cl.go) == 0 && pipe(cl.result) == 0);
    netpeer_start(&cli, 73, client, &cl);
    close(cl.go[0]);
    close(cl.result[1]);
    /* the control: routed through this namespace without finwait, the server sees the client */
    ask(&cl, "10.74.0.2", "from 10.73.0.2\n|EOF");

    hide_ip(true);
    fw = fwp_start("proxies:\n  - name: gw\n    listen: :0\n"
                   "    intercept: {ports: [5432], mode: tproxy}\n"
                   "    faults: [{type: rst_instead_of_fin, direction: downstream}]\n");
    CHECK(fwp_wait_log(fw, "interception rules: 1 proxy", 5000));
    hide_ip(false); /* the test's own checks use it */
    CHECK_EQ(netns_tproxy_rules(), 2);

    ask(&cl, "10.74.0.2", "from 10.73.0.2\n|ECONNRESET");
    CHECK(fwp_wait_log(fw, "original_destination=10.74.0.2:5432", 2000));
    TEST_PASS("IPv4: through finwait (the fault's RST), the server sees the client's address");

    ask(&cl, "fd74::2", "from fd73::2\n|ECONNRESET");
    CHECK(fwp_wait_log(fw, "original_destination=[fd74::2]:5432", 2000));
    TEST_PASS("IPv6: the same");

    ask(&cl, "10.74.0.2#5433", "from 10.73.0.2\n|EOF");
    TEST_PASS("a port not intercepted is routed as before");

    /* the client dials finwait's listener itself (the gateway's address): not relayed to
     * itself, refused */
    {
        char self[64];
        snprintf(self, sizeof self, "10.73.0.1#%u", fwp_port(fw, "gw"));
        ask(&cl, self, "|ECONNRESET");
        CHECK(fwp_wait_log(fw, "relaying it would loop", 2000));
    }
    TEST_PASS("a connection to finwait's own listener is refused (a loop)");

    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    CHECK_EQ(netns_finwait_rules(), 0);
    CHECK_EQ(netns_tproxy_rules(), 0);
    ask(&cl, "10.74.0.2", "from 10.73.0.2\n|EOF");
    TEST_PASS("after SIGTERM the rules and the route are gone: routed as before");

    close(cl.go[1]);
    CHECK_EQ(netpeer_wait(&cli, 5000), 0);
    netpeer_stop(&srv);
    return 0;
}
