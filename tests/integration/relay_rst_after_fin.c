/*
 * An RST on a leg finwait no longer reads is relayed at once. One peer sends a message,
 * half-closes and closes its socket; the other reads it to EOF and answers: the closed
 * socket's kernel answers the data with an RST. Connected directly the answering peer's
 * socket is reset within microseconds (its next write fails with EPIPE). Through finwait the
 * RST arrives on a leg finwait stopped reading at the FIN: it must notice it then, not at its
 * next write (before: not within a second, in neither direction), and relay it.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

/* How long the answering peer waits for the reset: far above loopback's microseconds, far
 * below the second it took before. */
#define BOUND_MS 500

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* `closer` sends, half-closes and closes; `answerer` reads to EOF and answers. Returns the
 * microseconds until the answerer's socket was reset. */
static int64_t one(int closer, int answerer, const char *path)
{
    struct sk_read r;
    int64_t t0;
    int w;

    CHECK_EQ(sk_write_pattern(closer, 0, 100, 5000), 0);
    sk_shut_wr(closer);
    close(closer);
    r = sk_read_until_end(answerer, 5000, true, 0);
    CHECK_MSG(r.bytes == 100 && r.end == SK_EOF, "%s: read %llu bytes, then %s", path,
              (unsigned long long)r.bytes, sk_end_name(r.end));
    CHECK_EQ(sk_write_pattern(answerer, 0, 100, 5000), 0);
    t0 = now_us();
    /* events 0: only what every poll reports, an error or a hang-up: the reset */
    CHECK_MSG(poll(&(struct pollfd){.fd = answerer}, 1, BOUND_MS) == 1 &&
                  sk_tcp_state(answerer) == TCP_CLOSE,
              "%s: the answering peer's socket is still %s %d ms after its answer", path,
              sk_state_name(sk_tcp_state(answerer)), BOUND_MS);
    t0 = now_us() - t0;
    w = sk_write_pattern(answerer, 0, 100, 1000);
    CHECK_MSG(w == -EPIPE || w == -ECONNRESET, "%s: the next write gave %d", path, w);
    close(answerer);
    return t0;
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("log: {level: info}\n"
                               "proxies:\n"
                               "  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                               up);
    uint16_t port = fwp_port(fw, "t");
    int c, s;
    int64_t direct = 0, through = 0, t;
    char *log;

    for (int i = 0; i < 5; i++) {
        sk_pair(NULL, "127.0.0.1", up, lfd, &c, &s);
        t = one(c, s, "direct, client closes");
        direct = t > direct ? t : direct;
        sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
        t = one(c, s, "through finwait, client closes");
        through = t > through ? t : through;
    }
    TEST_PASS("the client closed after its FIN: the server's answer is reset at once");
    for (int i = 0; i < 5; i++) {
        sk_pair(NULL, "127.0.0.1", up, lfd, &c, &s);
        t = one(s, c, "direct, server closes");
        direct = t > direct ? t : direct;
        sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
        t = one(s, c, "through finwait, server closes");
        through = t > through ? t : through;
    }
    fprintf(stderr, "reset seen after at most: direct %lld us, through finwait %lld us\n",
            (long long)direct, (long long)through);
    TEST_PASS("the server closed after its FIN: the client's answer is reset at once");
    CHECK(fwp_wait_log(fw, "t#10 ", 5000));
    log = fwp_log(fw);
    CHECK_CONTAINS(log, "client: RST received (");
    CHECK_CONTAINS(log, "server: RST received (");
    CHECK_MSG(!strstr(log, "EBADF"), "a reason finwait made up:\n%s", log);
    free(log);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
