/* Transparent interception, the sidecar case: an application in finwait's namespace dials a
 * server in another namespace by its own address (IPv4 and IPv6), reaches it through finwait
 * unchanged, and observes the configured fault (an RST instead of the server's FIN). A port
 * that is not intercepted passes untouched and never reaches finwait; finwait's own upstream
 * connection is not taken back to it; a client that addresses finwait's listener itself is
 * refused (it would loop). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "netpeer.h"
#include "proc.h"
#include "sock.h"

static int greeter(void *arg)
{
    static const uint16_t ports[] = {5432, 5433};

    (void)arg;
    return netpeer_greeter(ports, 2);
}

/* How many times finwait's log has `needle`. */
static int log_count(struct fwp *fw, const char *needle)
{
    char *log = fwp_log(fw), *p = log;
    int n = 0;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    free(log);
    return n;
}

int main(void)
{
    struct netpeer srv;
    struct fwp *fw;
    struct sk_read r;
    uint16_t port;

    netns_enter(2);
    netpeer_start(&srv, 71, greeter, NULL);
    /* the control: without finwait the server's close is an ordinary FIN */
    r = sk_connect_read_end(NULL, "10.71.0.2", 5432, 3000);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, strlen("from 10.71.0.1\n"));

    fw = fwp_start("proxies:\n  - name: db\n    listen: :0\n"
                   "    intercept: {ports: [5432]}\n"
                   "    faults: [{type: rst_instead_of_fin, direction: downstream}]\n");
    CHECK(fwp_wait_log(fw, "interception rules: 1 proxy", 5000));
    port = fwp_port(fw, "db");
    CHECK(port != 0);

    /* the same address and port as the control: the application's configuration is the same */
    r = sk_connect_read_end(NULL, "10.71.0.2", 5432, 3000);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK_UINT(r.bytes, ==, strlen("from 10.71.0.1\n"));
    CHECK(fwp_wait_log(fw, "original_destination=10.71.0.2:5432", 2000));
    TEST_PASS("IPv4: the server's greeting arrives whole, then the fault's RST");

    r = sk_connect_read_end(NULL, "fd71::2", 5432, 3000);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK_UINT(r.bytes, ==, strlen("from fd71::1\n"));
    CHECK(fwp_wait_log(fw, "original_destination=[fd71::2]:5432", 2000));
    TEST_PASS("IPv6: the same through IP6T_SO_ORIGINAL_DST");

    /* another port of the same server: untouched, and finwait never sees it */
    r = sk_connect_read_end(NULL, "10.71.0.2", 5433, 3000);
    CHECK_STR(sk_end_name(r.end), "EOF");
    r = sk_connect_read_end(NULL, "fd71::2", 5433, 3000);
    CHECK_STR(sk_end_name(r.end), "EOF");
    /* two intercepted connections, each accepted once: finwait's own connections to port
     * 5432 carried its mark and went to the server, not back to finwait */
    CHECK(fwp_wait_log(fw, "connection closed", 2000));
    CHECK_EQ(log_count(fw, "client: accepted"), 2);
    TEST_PASS("a port not intercepted passes untouched; finwait's upstream is not intercepted");

    /* a client that addresses the listener itself has nowhere to go: refused, not relayed */
    r = sk_connect_read_end(NULL, "127.0.0.1", port, 3000);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK_UINT(r.bytes, ==, 0);
    CHECK(fwp_wait_log(fw, "relaying it would loop", 2000));
    CHECK_EQ(log_count(fw, "connected to server"), 2);
    TEST_PASS("a connection to finwait's own listener is refused (a loop)");

    /* `match` on the original destination: the fault reaches only the IPv6 server's */
    CHECK(fwp_reload(fw,
                     "proxies:\n  - name: db\n    listen: :%u\n"
                     "    intercept: {ports: [5432]}\n"
                     "    faults: [{type: rst_instead_of_fin, direction: downstream,"
                     " match: {destination: 'fd71::/64'}}]\n",
                     port));
    r = sk_connect_read_end(NULL, "10.71.0.2", 5432, 3000);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, strlen("from 10.71.0.1\n"));
    r = sk_connect_read_end(NULL, "fd71::2", 5432, 3000);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    /* both through finwait (the refused one was never accepted) */
    CHECK_EQ(log_count(fw, "client: accepted"), 4);
    TEST_PASS("match: {destination} chooses by the original destination");

    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);

    /* a listener that receives IPv4 only gets IPv4 rules only: IPv6 connections to the port
     * are not sent to an address where nothing listens */
    fw = fwp_start("proxies:\n  - name: db\n    listen: 127.0.0.1:0\n"
                   "    intercept: {ports: [5432]}\n"
                   "    faults: [{type: rst_instead_of_fin, direction: downstream}]\n");
    CHECK(fwp_wait_log(fw, "interception rules: 1 proxy", 5000));
    r = sk_connect_read_end(NULL, "10.71.0.2", 5432, 3000);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    r = sk_connect_read_end(NULL, "fd71::2", 5432, 3000);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, strlen("from fd71::1\n"));
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("an IPv4-only listener: IPv6 connections pass untouched");
    netpeer_stop(&srv);
    return 0;
}
