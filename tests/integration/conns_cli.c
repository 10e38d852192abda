/* `finwait conns` against a running finwait: the table has one row per open connection with
 * its peers, both legs' TCP states, bytes and faults; `finwait conns PROXY ID` prints its
 * timeline diagram; --watch redraws; an unreachable admin API or an unknown connection is one
 * line on stderr and exit status 1. The admin URL comes from --admin or $FINWAIT_ADMIN. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

int main(void)
{
    uint16_t up = 0, port, dead = 0;
    int lfd = sk_listen("127.0.0.1", &up), cfd, sfd, dfd;
    char url[64], deadurl[64], client[64], row[256], *out = NULL;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    struct fwp *fw;
    int rc;

    /* the held FIN outlives the test: SIGTERM resets it after shutdown_timeout */
    fw = fwp_start("shutdown_timeout: 200ms\n"
                   "admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - name: web\n"
                   "    listen: 127.0.0.1:0\n"
                   "    upstream: 127.0.0.1:%u\n"
                   "    faults:\n"
                   "      - {name: slow-fin, type: delay_fin, delay: 30s, direction: upstream}\n",
                   up);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", fwp_admin_port(fw));
    port = fwp_port(fw, "web");

    rc = fwp_run((const char *[]){"conns", "--admin", url, NULL}, &out, 10000);
    CHECK_EQ(rc, 0);
    CHECK_CONTAINS(out, "(no open connections)");
    free(out);

    /* one connection, 5 bytes up, then the client's FIN, which the fault holds */
    sk_pair(NULL, "127.0.0.1", port, lfd, &cfd, &sfd);
    getsockname(cfd, (struct sockaddr *)&sa, &sl);
    snprintf(client, sizeof client, "127.0.0.1:%u", ntohs(sa.sin_port));
    CHECK_EQ(sk_write_all(cfd, "hello", 5, 5000), 0);
    CHECK_UINT(sk_read_n(sfd, 5, 5000).bytes, ==, 5);
    sk_shut_wr(cfd);
    CHECK(fwp_wait_log(fw, "holding the client's FIN", 5000));

    rc = fwp_run((const char *[]){"conns", "--admin", url, NULL}, &out, 10000);
    CHECK_EQ(rc, 0);
    CHECK_CONTAINS(out, "PROXY");
    CHECK_CONTAINS(out, "CLIENT-LEG");
    snprintf(row, sizeof row,
             "web              1 %-22s 127.0.0.1:%-12u CLOSE_WAIT  ESTABLISHED       5       0",
             client, up);
    CHECK_CONTAINS(out, row);
    CHECK_CONTAINS(out, "slow-fin (holding the client's FIN to the server)");
    free(out);

    /* the URL from the environment, as toxiproxy-cli's TOXIPROXY_URL */
    setenv("FINWAIT_ADMIN", url, 1);
    rc = fwp_run((const char *[]){"conns", "web", "1", NULL}, &out, 10000);
    unsetenv("FINWAIT_ADMIN");
    CHECK_EQ(rc, 0);
    CHECK_CONTAINS(out, "web#1  client <-> finwait <-> server");
    CHECK_CONTAINS(out, "client leg ESTABLISHED");
    CHECK_CONTAINS(out, "5 B");
    CHECK_CONTAINS(out, "-------- FIN --------->|");
    CHECK_CONTAINS(out, "client leg CLOSE_WAIT");
    CHECK_CONTAINS(out, "[*]");
    CHECK_CONTAINS(out, "fault slow-fin: holding the client's FIN to the server for 30s");
    free(out);

    /* --watch redraws every second until it is stopped (here: by the run's time limit) */
    rc = fwp_run((const char *[]){"conns", "--admin", url, "--watch", NULL}, &out, 2500);
    CHECK_EQ(rc, -1);
    CHECK_MSG(count(out, "CLIENT-LEG") >= 2, "%u tables in:\n%s", count(out, "CLIENT-LEG"), out);
    free(out);

    /* errors: one line, exit 1 */
    rc = fwp_run((const char *[]){"conns", "--admin", url, "web", "99", NULL}, &out, 10000);
    CHECK_EQ(rc, 1);
    CHECK_CONTAINS(out, "HTTP 404: connection not found");
    CHECK_EQ(count(out, "\n"), 1);
    free(out);
    dfd = sk_listen("127.0.0.1", &dead); /* a port nobody listens on once closed */
    close(dfd);
    snprintf(deadurl, sizeof deadurl, "http://127.0.0.1:%u", dead);
    rc = fwp_run((const char *[]){"conns", "--admin", deadurl, NULL}, &out, 10000);
    CHECK_EQ(rc, 1);
    CHECK_CONTAINS(out, "cannot reach the admin API at");
    CHECK_EQ(count(out, "\n"), 1);
    free(out);

    close(cfd);
    close(sfd);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("finwait conns: table, timeline, --watch, errors");
    return 0;
}
