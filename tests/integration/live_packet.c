/* A packet fault added by a reload reaches the open connections whose leg has not started
 * its close: the FIN of a connection opened before the fault existed is dropped, and a
 * connection whose close had started is left alone. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "proc.h"
#include "sock.h"

static const char plain[] =
    "proxies:\n  - {name: r, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n";
static const char faulted[] =
    "proxies:\n  - {name: r, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
    "     faults: [{type: drop_fin, leg: %s, from: %s, count: 2}]}\n";

/* The server closes; how long until the client's read ends, which must be EOF. */
static int64_t server_fin_to_eof(int c, int s)
{
    int64_t t0 = now_ms();
    struct sk_read r;

    sk_shut_wr(s);
    r = sk_read_until_end(c, 5000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    return r.end_ms - t0;
}

/* The engine's own account of connection r#1's FIN: how many copies it dropped, and the
 * connection-relative times (ms) of the first drop and of the copy it let pass. */
struct fin_account {
    int dropped;
    double first_drop_ms, pass_ms;
};

static double line_ms(const char *line)
{
    const char *plus = strstr(line, " +");
    return plus ? strtod(plus + 2, NULL) : -1;
}

static struct fin_account fin_account(struct fwp *fw)
{
    struct fin_account a = {0, -1, -1};
    char *log = fwp_log(fw), *save = NULL;

    for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!strstr(l, "r#1 +"))
            continue;
        if (strstr(l, "dropped FIN")) {
            if (a.dropped++ == 0)
                a.first_drop_ms = line_ms(l);
        } else if (strstr(l, "passed FIN") && a.pass_ms < 0) {
            a.pass_ms = line_ms(l);
        }
    }
    free(log);
    return a;
}

/* One open connection through r, used both ways, then the fault added by SIGHUP. */
static void attach_to_open(const char *leg, const char *from)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), c, s, late_c, late_s;
    struct fwp *fw = fwp_start(plain, up);
    int64_t ms;

    port = fwp_port(fw, "r");
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_INT(sk_round_trip(c, s), >=, 0);
    /* a second connection whose client has already closed: its close has started */
    sk_pair(NULL, "127.0.0.1", port, lfd, &late_c, &late_s);
    sk_shut_wr(late_c);
    CHECK_UINT(sk_read_until_end(late_s, 2000, false, 0).end, ==, SK_EOF);

    CHECK(fwp_reload(fw, faulted, up, leg, from));
    CHECK_INT(netns_finwait_rules(), >, 0);
    CHECK_INT(sk_round_trip(c, s), >=, 0); /* bytes still flow, through the queue or not */
    ms = server_fin_to_eof(c, s);
    fprintf(stderr, "%s leg, FIN from %s: EOF %lld ms after the server's FIN\n", leg, from,
            (long long)ms);
    CHECK(fwp_wait_log(fw, "passed FIN", 1000));
    /* The EOF is bounded by the kernel's actual retransmissions, not by a model of them: the
     * first copy may be followed by a tail-loss probe a few ms later, then by retransmission
     * timeouts (>= 200 ms on loopback). So: exactly the two copies the fault counts were
     * dropped, the client saw its EOF only once the copy that passed had been sent, and at
     * least one RTO separates them (the kernel sends at most one probe before its RTO). */
    struct fin_account a = fin_account(fw);
    fprintf(stderr, "engine: %d FIN copies dropped, first at +%.1f ms, passed at +%.1f ms\n",
            a.dropped, a.first_drop_ms, a.pass_ms);
    CHECK_INT(a.dropped, ==, 2);
    CHECK(a.first_drop_ms >= 0 && a.pass_ms > a.first_drop_ms);
    CHECK_INT((int64_t)(a.pass_ms - a.first_drop_ms), >=, 190);
    CHECK_INT(ms, >=, (int64_t)(a.pass_ms - a.first_drop_ms) - 5);
    CHECK_INT(ms, <, (int64_t)(a.pass_ms - a.first_drop_ms) + 1000);

    /* the connection whose close had started: its FIN passes at once */
    CHECK_INT(server_fin_to_eof(late_c, late_s), <, 150);
    close(c);
    close(s);
    close(late_c);
    close(late_s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 8000), 0);
    CHECK_EQ(netns_finwait_rules(), 0);
}

int main(void)
{
    netns_enter(2);
    attach_to_open("server", "peer");
    TEST_PASS("drop_fin from the server, added while the connection was open: EOF late");
    attach_to_open("client", "finwait");
    TEST_PASS("drop_fin of finwait's FIN to the client, added while it was open: EOF late");
    return 0;
}
