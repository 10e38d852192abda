/* Transparent interception over finwait's life: the application observes the configured
 * faults from its side (latency, then a held FIN); /connections shows the original
 * destination; a reload that moves `intercept:` to another port changes the rules and leaves
 * the open intercepted connection as it was; the rules are gone after SIGTERM, and after
 * SIGKILL once `finwait --cleanup` ran. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "netns.h"
#include "netpeer.h"
#include "proc.h"
#include "sock.h"

#define CFG                                                                                        \
    "admin: {listen: 127.0.0.1:0}\n"                                                               \
    "proxies:\n  - name: db\n    listen: :0\n"                                                     \
    "    intercept: {ports: [%u], destinations: [10.72.0.0/24, 'fd72::/64']}\n"                    \
    "    faults:\n"                                                                                \
    "      - {type: latency, latency: 300ms, stream: downstream}\n"                                \
    "      - {type: delay_fin, direction: downstream, delay: 1500ms}\n"

static int greeter(void *arg)
{
    static const uint16_t ports[] = {5432, 5433};

    (void)arg;
    return netpeer_greeter(ports, 2);
}

/* Lines of the nat tables (both families) that name a finwait chain. */
static int nat_rules(const char *grep)
{
    char cmd[256];
    FILE *p;
    int n = 0;

    snprintf(cmd, sizeof cmd,
             "{ iptables-save -t nat; ip6tables-save -t nat; } 2>/dev/null | grep FINWAIT | "
             "grep -c -e '%s'",
             grep);
    p = popen(cmd, "r");
    CHECK(p != NULL);
    if (fscanf(p, "%d", &n) != 1)
        n = 0;
    pclose(p);
    return n;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

int main(void)
{
    struct netpeer srv;
    struct fwp *fw;
    struct sk_read r;
    char *out, want[128];
    int c;
    int64_t t0;
    long pid;
    json_t *conns;

    netns_enter(2);
    netpeer_start(&srv, 72, greeter, NULL);
    fw = fwp_start(CFG, 5432);
    CHECK(fwp_wait_log(fw, "interception rules: 1 proxy", 5000));
    CHECK_EQ(nat_rules("--dport 5432"), 2); /* IPv4 and IPv6 */

    t0 = now_ms();
    c = sk_connect("10.72.0.2", 5432, 3000);
    CHECK(c >= 0);
    r = sk_read_n(c, strlen("from 10.72.0.1\n"), 3000);
    CHECK_UINT(r.bytes, ==, strlen("from 10.72.0.1\n"));
    CHECK_INT(r.first_ms - t0, >=, 290);
    /* the server has closed; its FIN is held: nothing more reaches the application yet */
    CHECK(sk_silent(c, 300));
    TEST_PASS("the application sees the latency and the held FIN");

    CHECK_EQ(http_json(http_admin_port(fw), "GET", "/connections", NULL, &conns), 200);
    out = json_dumps(conns, 0);
    CHECK_CONTAINS(out, "\"original_destination\": \"10.72.0.2:5432\"");
    CHECK_CONTAINS(out, "\"upstream\": \"10.72.0.2:5432\"");
    free(out);
    json_decref(conns);
    TEST_PASS("/connections shows the original destination");

    CHECK(fwp_reload(fw, CFG, 5433));
    CHECK_EQ(nat_rules("--dport 5432"), 0);
    CHECK_EQ(nat_rules("--dport 5433"), 2);
    /* the open connection keeps its fault: EOF when the hold ends, not before, not an RST */
    r = sk_read_until_end(c, 5000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - t0, >=, 1500);
    close(c);
    /* port 5432 is no longer taken; 5433 is */
    r = sk_connect_read_end(NULL, "10.72.0.2", 5432, 3000);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - r.first_ms, <, 1000);
    t0 = now_ms();
    r = sk_connect_read_end(NULL, "fd72::2", 5433, 5000);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - t0, >=, 1500);
    out = fwp_log(fw);
    CHECK_EQ(count(out, "client: accepted"), 2);
    free(out);
    TEST_PASS("a reload moves the rules; the open connection is not dropped");

    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    CHECK_EQ(nat_rules("FINWAIT"), 0);
    TEST_PASS("rules gone after SIGTERM");

    fw = fwp_start(CFG, 5432);
    CHECK(fwp_wait_log(fw, "interception rules: 1 proxy", 5000));
    pid = (long)fw->pid;
    fwp_stop(fw, SIGKILL, 5000);
    CHECK_INT(nat_rules("FINWAIT"), >, 0);
    /* the application's connections would go to a dead port until the rules go */
    c = sk_connect("10.72.0.2", 5432, 3000);
    CHECK_MSG(c < 0 && errno == ECONNREFUSED, "connect: %d %s", c, strerror(errno));
    CHECK_EQ(fwp_run((const char *[]){"--cleanup", NULL}, &out, 10000), 0);
    snprintf(want, sizeof want, "removed FINWAIT-%ld-NAT (iptables nat table", pid);
    CHECK_CONTAINS(out, want);
    snprintf(want, sizeof want, "removed FINWAIT-%ld-NAT (ip6tables nat table", pid);
    CHECK_CONTAINS(out, want);
    free(out);
    CHECK_EQ(nat_rules("FINWAIT"), 0);
    r = sk_connect_read_end(NULL, "10.72.0.2", 5432, 3000);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, strlen("from 10.72.0.1\n"));
    TEST_PASS("after SIGKILL, --cleanup removes the rules and connections go straight again");

    netpeer_stop(&srv);
    return 0;
}
