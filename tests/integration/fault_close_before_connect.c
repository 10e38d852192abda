/* A `close` or `reset` that fires while the server leg is still connecting: no server will
 * ever answer, so the client gets the end (EOF, or ECONNRESET for a reset to it), what it still
 * sends goes nowhere, and once it closes the connection is over: finwait's descriptors come
 * back. Found by the soak: with `to: client` the connection stayed open until SIGTERM, with
 * `to: server` the client never heard of anything. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

/* The fds finwait holds come back to `want` within 3 s. */
static void wait_fds(struct fwp *fw, int want, const char *what)
{
    int64_t end = now_ms() + 3000;
    int n;

    while ((n = fwp_fd_count(fw)) > want && now_ms() < end)
        poll(NULL, 0, 10);
    CHECK_MSG(n <= want, "%s: finwait holds %d descriptors, %d before", what, n, want);
}

int main(void)
{
    static const char *const faults[] = {"{type: close, after: 100ms, to: client}",
                                         "{type: close, after: 100ms, to: server}",
                                         "{type: reset, after: 100ms, to: server}"};
    uint16_t full_port = 0;
    int full = sk_listen("127.0.0.1", &full_port), q1, q2;

    /* a listener that never accepts, its queue full: the server leg's SYN goes unanswered */
    CHECK(listen(full, 0) == 0);
    q1 = sk_connect("127.0.0.1", full_port, 2000);
    q2 = sk_connect("127.0.0.1", full_port, 300);
    for (int i = 0; i < 3; i++) {
        struct fwp *fw = fwp_start("proxies:\n  - name: p\n    listen: 127.0.0.1:0\n    upstream: "
                                   "127.0.0.1:%u\n    connect_timeout: 30s\n    faults: [%s]\n",
                                   full_port, faults[i]);
        int fds0 = fwp_fd_count(fw), c;
        struct sk_read r;

        c = sk_connect("127.0.0.1", fwp_port(fw, "p"), 2000);
        CHECK(c >= 0);
        r = sk_read_until_end(c, 3000, false, 0);
        CHECK_MSG(r.end == SK_EOF, "%s: the client's read ended with %s", faults[i],
                  sk_end_name(r.end));
        /* what the client still sends goes nowhere; its close ends the connection */
        (void)sk_write_all(c, "late", 4, 1000);
        close(c);
        wait_fds(fw, fds0, faults[i]);
        CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
        TEST_PASS(faults[i]);
    }
    if (q1 >= 0)
        close(q1);
    if (q2 >= 0)
        close(q2);
    close(full);
    return 0;
}
