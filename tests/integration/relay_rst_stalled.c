/*
 * The wait before relaying a reset is bounded by progress. A server sends 1 MiB and resets
 * once finwait's kernel acknowledged it; the client reads nothing. Finwait waits for the
 * client's kernel to be sent what it holds; nothing moves (the client's window is closed), so
 * after ACKWAIT_STALL_MS (2 s) without progress it resets the client anyway and says so
 * (ack_wait_gave_up). The client then holds what its kernel had acknowledged, and that, not
 * the MiB, is what finwait counts as delivered.
 */
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sendq.h"
#include "sock.h"

struct server {
    int lfd;
    int64_t reset_ms; /* now_ms() of its reset */
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = sk_accept(s->lfd, 10000);

    CHECK(fd >= 0);
    CHECK_EQ(sk_write_pattern(fd, 0, 1 << 20, 10000), 0);
    CHECK_MSG(sk_wait_acked(fd, 10000), "finwait never acknowledged the MiB");
    s->reset_ms = now_ms();
    sk_reset(fd);
    return NULL;
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("log: {level: info}\n"
                               "proxies:\n"
                               "  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                               up);
    struct server s = {.lfd = lfd};
    struct sk_thread th;
    int c, inq = 0;
    int64_t waited;
    char want[64];
    struct sk_read r;

    sk_thread_start(&th, serve, &s);
    c = sk_connect("127.0.0.1", fwp_port(fw, "t"), 5000);
    CHECK(c >= 0);
    sk_thread_join(&th);
    /* events 0: only an error or a hang-up wakes it: the reset */
    CHECK(poll(&(struct pollfd){.fd = c}, 1, 6000) == 1);
    waited = now_ms() - s.reset_ms;
    CHECK_INT(waited, >=, 1900);
    CHECK_INT(waited, <, 4000);
    CHECK(ioctl(c, SIOCINQ, &inq) == 0);
    CHECK_INT(inq, >, 0);
    CHECK_INT(inq, <, 1 << 20);
    r = sk_read_until_end(c, 5000, true, 0);
    CHECK_MSG(r.bytes == (uint64_t)inq && r.pattern_ok && r.end == SK_RESET,
              "the client read %llu bytes, then %s", (unsigned long long)r.bytes,
              sk_end_name(r.end));
    close(c);
    TEST_PASS("a client that reads nothing is reset 2 s after the server (no progress)");

    CHECK(fwp_wait_log(fw, "connection closed", 5000));
    CHECK(fwp_wait_log(fw, "took nothing more for 2000 ms", 100));
    snprintf(want, sizeof want, "bytes_down=%d\n", inq);
    CHECK(fwp_wait_log(fw, want, 100));
    TEST_PASS("finwait says it gave up, and counts only what the client's kernel had");

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
