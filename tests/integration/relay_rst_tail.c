/*
 * The bytes before an RST reach the other peer before the RST does. A server sends a tail and
 * resets once its kernel has it acknowledged; the client reads a moment later. Connected
 * directly the client reads the whole tail, then ECONNRESET: Linux keeps what arrived before
 * the RST readable. Through finwait the same must hold, although finwait's kernel still holds
 * part of the tail when the RST comes (a reset with SO_LINGER {1,0} would discard it: the
 * client used to read exactly its own receive buffer, 113,152 bytes of 1 MiB). The 4 MB case
 * moves by splice(2): the reason logged must be the kernel's (ECONNRESET), never EBADF, and the
 * bytes finwait counts as delivered must be what the client read.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sendq.h"
#include "sock.h"

struct server {
    int lfd;
    uint64_t len;
    int rc;
};

/* Send the tail, wait until the peer's kernel acknowledged it, reset. */
static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = sk_accept(s->lfd, 10000);

    CHECK(fd >= 0);
    s->rc = sk_write_pattern(fd, 0, s->len, 20000);
    CHECK_MSG(sk_wait_acked(fd, 20000), "the tail was never acknowledged");
    sk_reset(fd);
    return NULL;
}

/* One run: the client connects to port and starts reading `delay_ms` later (meanwhile the
 * server sends the tail and, once it is acknowledged, resets). Returns what it read. */
static struct sk_read one(uint16_t port, int lfd, uint64_t len, int delay_ms)
{
    struct server s = {.lfd = lfd, .len = len};
    struct sk_thread th;
    struct sk_read r;
    int c;

    sk_thread_start(&th, serve, &s);
    c = sk_connect("127.0.0.1", port, 5000);
    CHECK(c >= 0);
    nanosleep(&(struct timespec){delay_ms / 1000, (delay_ms % 1000) * 1000000L}, NULL);
    r = sk_read_until_end(c, 10000, true, 0);
    sk_thread_join(&th);
    CHECK_EQ(s.rc, 0);
    close(c);
    return r;
}

static void expect_all(struct sk_read r, uint64_t len, const char *path)
{
    CHECK_MSG(r.bytes == len && r.pattern_ok && r.end == SK_RESET,
              "%s: the client read %llu of %llu bytes (pattern %s), then %s; expected all, then "
              "ECONNRESET",
              path, (unsigned long long)r.bytes, (unsigned long long)len,
              r.pattern_ok ? "ok" : "wrong", sk_end_name(r.end));
}

struct writer {
    int lfd;
    int fd;
};

static void *write_mib(void *arg)
{
    struct writer *w = arg;

    w->fd = sk_accept(w->lfd, 10000);
    CHECK(w->fd >= 0);
    sk_write_pattern(w->fd, 0, 1 << 20, 3000); /* ends when the reset comes */
    return NULL;
}

/* The other way round: the server sends 1 MiB to a client that reads nothing and resets once
 * its receive queue stopped growing. What finwait still held for it is lost, and finwait must
 * not count it: bytes_down is what the client's kernel had (the 9th connection's close). */
static void unread_reset(struct fwp *fw, uint16_t port, int lfd)
{
    struct writer w = {.lfd = lfd, .fd = -1};
    struct sk_thread th;
    int c, inq = -1, last = -2;
    int64_t stable = now_ms();
    char *log, *line, want[64];

    sk_thread_start(&th, write_mib, &w);
    c = sk_connect("127.0.0.1", port, 5000);
    CHECK(c >= 0);
    /* nothing in flight any more: the client's window is closed, finwait holds the rest */
    while (now_ms() - stable < 200) {
        CHECK(ioctl(c, SIOCINQ, &inq) == 0);
        if (inq != last) {
            last = inq;
            stable = now_ms();
        }
        nanosleep(&(struct timespec){0, 5 * 1000000L}, NULL);
    }
    CHECK_INT(inq, >, 0);
    CHECK_INT(inq, <, 1 << 20);
    sk_reset(c);
    sk_thread_join(&th);
    close(w.fd);
    for (int64_t deadline = now_ms() + 5000;; nanosleep(&(struct timespec){0, 10000000L}, NULL)) {
        log = fwp_log(fw);
        line = strstr(log, "t#9 ");
        line = line ? strstr(line, "connection closed") : NULL;
        if (line || now_ms() > deadline)
            break;
        free(log);
    }
    CHECK_MSG(line, "connection #9 did not close:\n%s", log);
    snprintf(want, sizeof want, "bytes_down=%d\n", inq);
    CHECK_MSG(strncmp(strstr(line, "bytes_down="), want, strlen(want)) == 0,
              "the client's kernel had %d bytes; finwait said: %.80s", inq, line);
    free(log);
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
    char *log, want[64];

    /* the reference: connected directly */
    expect_all(one(up, lfd, 1 << 20, 100), 1 << 20, "direct");
    for (int i = 0; i < 5; i++)
        expect_all(one(port, lfd, 1 << 20, 100), 1 << 20, "through finwait");
    TEST_PASS("1 MiB then RST, read 0.1 s later: all of it, then ECONNRESET (5 of 5)");

    for (int i = 0; i < 3; i++)
        expect_all(one(port, lfd, 4000000, 300), 4000000, "through finwait (splice)");
    TEST_PASS("4 MB then RST, read 0.3 s later: all of it, then ECONNRESET (3 of 3)");

    CHECK(fwp_wait_log(fw, "t#8 ", 5000));
    CHECK(fwp_wait_log(fw, "bytes_down=4000000", 5000));
    log = fwp_log(fw);
    CHECK_MSG(!strstr(log, "EBADF"), "a reason finwait made up:\n%s", log);
    snprintf(want, sizeof want, "RST received (ECONNRESET)");
    CHECK_CONTAINS(log, want);
    free(log);
    TEST_PASS("the reason is the kernel's; bytes_down counts what the client got");

    unread_reset(fw, port, lfd);
    TEST_PASS("the client resets with 1 MiB unsent to it: bytes_down is what its kernel had");

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
