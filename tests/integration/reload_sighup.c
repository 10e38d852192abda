/* SIGHUP reloads the config file: kept proxies keep their socket and take the new faults, added
 * ones listen, removed ones stop; open connections go on under the configuration they started
 * with. A bad file or a listen address in use changes nothing. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

/* One request and its answer through `port`: the server (accepted from lfd) sees the bytes the
 * client sent, the client those the server sent. */
int main(void)
{
    uint16_t up = 0, busy_port = 0, pa, pb, pc;
    int lfd = sk_listen("127.0.0.1", &up), busy = sk_listen("127.0.0.1", &busy_port), c, s;
    struct fwp *fw = fwp_start("proxies:\n"
                               "  - {name: a, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                               "  - {name: c, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                               up, up);
    struct sk_read r;
    char *log;

    pa = fwp_port(fw, "a");
    pc = fwp_port(fw, "c");
    CHECK(pa && pc);
    /* a connection accepted before the reload, mid-conversation */
    c = sk_connect("127.0.0.1", pa, 2000);
    CHECK(c >= 0);
    s = sk_accept(lfd, 2000);
    CHECK(s >= 0);
    CHECK_EQ(sk_write_all(c, "hi", 2, 1000), 0);
    CHECK_UINT(sk_read_n(s, 2, 2000).bytes, ==, 2);

    CHECK(fwp_reload(fw,
                     "proxies:\n"
                     "  - {name: a, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                     "     faults: [{type: refuse}]}\n"
                     "  - {name: b, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                     up, up));
    CHECK(fwp_wait_log(fw, "a: reloaded: listening on", 1000));
    r = sk_connect_read_end(NULL, "127.0.0.1", pa, 2000);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    CHECK(sk_accept(lfd, 200) < 0); /* refused by finwait: the server never saw it */
    TEST_PASS("a kept proxy keeps its port and takes its new faults");

    CHECK_EQ(sk_write_all(c, "more", 4, 1000), 0);
    CHECK_UINT(sk_read_n(s, 4, 2000).bytes, ==, 4);
    CHECK(shutdown(c, SHUT_WR) == 0);
    r = sk_read_until_end(s, 2000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_EQ(sk_write_all(s, "answer after the client's FIN", 29, 1000), 0);
    close(s);
    r = sk_read_until_end(c, 2000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, 29);
    close(c);
    TEST_PASS("an open connection goes on, half-close included, under its old configuration");

    pb = fwp_port(fw, "b");
    CHECK(pb != 0);
    sk_relays(lfd, "127.0.0.1", pb);
    c = sk_connect("127.0.0.1", pc, 1000);
    CHECK_MSG(c < 0 && errno == ECONNREFUSED, "removed proxy c still accepts");
    TEST_PASS("an added proxy listens, a removed one refuses connections");

    CHECK(!fwp_reload(fw,
                      "proxies:\n"
                      "  - {name: a, listen: 127.0.0.1:0, upsteam: 127.0.0.1:%u}\n",
                      up));
    log = fwp_log(fw);
    CHECK_MSG(strstr(log, "finwait.yaml:2:36: error: unknown key 'upsteam' in proxy (did you "
                          "mean 'upstream'?)") != NULL,
              "no located error in the log");
    CHECK(strstr(log, "the running configuration is kept") != NULL);
    free(log);
    sk_relays(lfd, "127.0.0.1", pb);
    CHECK_STR(sk_end_name(sk_connect_read_end(NULL, "127.0.0.1", pa, 2000).end), "ECONNRESET");
    TEST_PASS("a config with errors is reported with file:line:col and changes nothing");

    CHECK(!fwp_reload(fw,
                      "proxies:\n"
                      "  - {name: a, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                      "  - {name: b, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                      "  - {name: d, listen: 127.0.0.1:%u, upstream: 127.0.0.1:%u}\n",
                      up, up, busy_port, up));
    CHECK(fwp_wait_log(fw, "d: cannot listen on", 1000));
    sk_relays(lfd, "127.0.0.1", pb);
    CHECK_STR(sk_end_name(sk_connect_read_end(NULL, "127.0.0.1", pa, 2000).end), "ECONNRESET");
    TEST_PASS("a listen address in use changes nothing");

    /* renamed, its ephemeral port now written down: the socket carries over */
    CHECK(fwp_reload(fw,
                     "proxies:\n"
                     "  - {name: a2, listen: 127.0.0.1:%u, upstream: 127.0.0.1:%u}\n",
                     pa, up));
    CHECK(fwp_wait_log(fw, "a2: reloaded: listening on", 1000));
    sk_relays(lfd, "127.0.0.1", pa);
    CHECK(fwp_wait_log(fw, "a2#", 1000)); /* ids go on from the socket's last one */
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    close(busy);
    close(lfd);
    TEST_PASS("a renamed proxy takes its socket over without its old fault; exit 0");
    return 0;
}
