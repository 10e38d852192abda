/* When finwait cannot reach the server, the client gets an RST (its read fails with
 * ECONNRESET) and the event log says why: refused, name not resolved, connect_timeout. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "names.h"
#include "proc.h"
#include "sock.h"

/* The reset may overtake the client at any step (connect, write, read) when finwait learns
 * of the failure fast; where it lands is the kernel's timing, what the client sees is a reset. */
static struct sk_read client_read(struct fwp *fw, const char *proxy)
{
    int c = sk_connect("127.0.0.1", fwp_port(fw, proxy), 5000), w;
    struct sk_read r = {.end = SK_RESET};

    if (c < 0) {
        CHECK_MSG(errno == ECONNRESET, "connect to proxy %s: %s", proxy, strerror(errno));
        r.end_ms = now_ms();
        return r;
    }
    w = sk_write_all(c, "hello", 5, 5000);
    CHECK_MSG(w == 0 || w == -ECONNRESET || w == -EPIPE, "write to proxy %s: %s", proxy,
              strerror(-w));
    if (w == 0)
        r = sk_read_until_end(c, 10000, false, 0);
    else
        r.end_ms = now_ms();
    close(c);
    return r;
}

int main(void)
{
    uint16_t closed_port = 0, full_port = 0;
    int probe = sk_listen("127.0.0.1", &closed_port);
    int full, q1, q2;
    struct fwp *fw;
    struct sk_read r;
    int64_t t0;

    /* A name that does not resolve, answered by no DNS server but the test's own namespace's
     * (nothing listens on its 127.0.0.1:53): no query leaves the machine. */
    names_enter("127.0.0.1 localhost\n", "nameserver 127.0.0.1\n");

    /* Bound but not listening: connect is refused, and the port cannot be handed to anyone
     * else (finwait's own ephemeral listener included) while the test runs. */
    close(probe);
    probe = socket(AF_INET, SOCK_STREAM, 0);
    {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(closed_port)};
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK_MSG(bind(probe, (struct sockaddr *)&sin, sizeof sin) == 0, "rebind %u", closed_port);
    }

    /* A listener that never accepts, its queue filled: further SYNs go unanswered. */
    full = sk_listen("127.0.0.1", &full_port);
    CHECK(listen(full, 0) == 0);
    q1 = sk_connect("127.0.0.1", full_port, 2000);
    q2 = sk_connect("127.0.0.1", full_port, 300); /* may or may not fit in the queue */

    fw = fwp_start("proxies:\n"
                   "  - {name: refused, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                   "  - {name: unresolvable, listen: 127.0.0.1:0, upstream: "
                   "no-such-host.invalid:80}\n"
                   "  - {name: slow, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u, "
                   "connect_timeout: 700ms}\n",
                   closed_port, full_port);

    r = client_read(fw, "refused");
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK(fwp_wait_log(fw, "connection refused", 2000));
    TEST_PASS("upstream refused -> client ECONNRESET");

    r = client_read(fw, "unresolvable");
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK(fwp_wait_log(fw, "resolve:", 2000));
    TEST_PASS("upstream name not resolved -> client ECONNRESET");

    t0 = now_ms();
    r = client_read(fw, "slow");
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK_INT(r.end_ms - t0, >=, 650); /* never before connect_timeout */
    CHECK_INT(r.end_ms - t0, <, 5000);
    CHECK(fwp_wait_log(fw, "connect_timeout", 2000));
    TEST_PASS("upstream silent -> client ECONNRESET after connect_timeout");

    if (q1 >= 0)
        close(q1);
    if (q2 >= 0)
        close(q2);
    close(full);
    close(probe);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
