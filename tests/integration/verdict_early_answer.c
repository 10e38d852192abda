/*
 * An answer before the whole upload was read is not half_close_ignored. A busy server answers
 * a 4 MiB upload after reading its first KiB (as nginx's `return 200` does to a POST), then
 * reads and discards the rest and closes once the client has closed: the upload runs on
 * after the answer, so finwait sees upload bytes, the answer, more upload bytes, the client's
 * FIN and the server's. The bytes after the answer are the rest of the request it answered,
 * not a request left unanswered (before this was told apart: found 10 of 10 times with
 * nginx). Twice: 4 MiB, and 80 KiB, too little on either side of the answer for the
 * detector's timing rule (64 KiB bursts), so that only the relay's mark (the upload still on
 * its way when it read the answer) tells them apart. The same server answering a request it
 * read whole, then a second request sent and half-closed that it drops, is still found.
 */
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "findings.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define HEAD   1024
#define ANSWER 50

/* A server too busy to read: waits until its receive queue holds at least `bytes` and has
 * stopped growing for 20 ms (its window closed: the rest of the upload waits in the kernels
 * before it), within timeout_ms. */
static bool inq_full(int fd, int bytes, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms, since = now_ms();
    int n = 0, last = -1;

    while (ioctl(fd, FIONREAD, &n) == 0 && now_ms() < end) {
        if (n != last) {
            last = n;
            since = now_ms();
        } else if (n >= bytes && now_ms() - since >= 20) {
            return true;
        }
        poll(NULL, 0, 1);
    }
    return false;
}

struct server {
    int lfd;
};

static const uint64_t uploads[] = {4u << 20, 80u << 10};

/* One connection per upload: its answer after HEAD bytes, then drained to its end; on the
 * last, the answer comes after the whole first request, and a second request (HEAD bytes,
 * then the client's FIN) is read and never answered. */
static void *serve(void *arg)
{
    struct server *s = arg;
    struct sk_read r;
    int fd;

    for (size_t i = 0; i < sizeof uploads / sizeof uploads[0]; i++) {
        fd = sk_accept(s->lfd, 10000);
        CHECK(fd >= 0);
        CHECK_UINT(sk_read_n(fd, HEAD, 5000).bytes, ==, HEAD);
        CHECK(inq_full(fd, 8 << 10, 5000));
        CHECK_EQ(sk_write_pattern(fd, 0, ANSWER, 2000), 0);
        r = sk_read_until_end(fd, 10000, false, 0);
        CHECK_UINT(r.bytes, ==, uploads[i] - HEAD);
        CHECK_STR(sk_end_name(r.end), "EOF");
        close(fd);
    }

    fd = sk_accept(s->lfd, 10000);
    CHECK(fd >= 0);
    CHECK_UINT(sk_read_n(fd, HEAD, 5000).bytes, ==, HEAD);
    CHECK_EQ(sk_write_pattern(fd, 0, ANSWER, 2000), 0);
    r = sk_read_until_end(fd, 5000, false, 0);
    CHECK_UINT(r.bytes, ==, HEAD);
    close(fd); /* the second request unanswered: EOF taken as the end */
    return NULL;
}

int main(void)
{
    struct server s = {0};
    struct sk_thread th;
    uint16_t up = 0, admin, port;
    struct fwp *fw;
    struct sk_read r;
    json_t *f;
    int c;

    s.lfd = sk_listen("127.0.0.1", &up);
    {
        int small = 16 << 10; /* accepted sockets inherit it: the upload fills it soon */
        CHECK_EQ(setsockopt(s.lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    }
    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - {name: p, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                   up);
    admin = http_admin_port(fw);
    port = fwp_port(fw, "p");
    sk_thread_start(&th, serve, &s);

    /* each upload, its early answer, then the client closes */
    for (size_t i = 0; i < sizeof uploads / sizeof uploads[0]; i++) {
        char closed[80];
        c = sk_connect("127.0.0.1", port, 5000);
        CHECK(c >= 0);
        CHECK_EQ(sk_write_pattern(c, 0, uploads[i], 10000), 0);
        r = sk_read_n(c, ANSWER, 5000);
        CHECK_UINT(r.bytes, ==, ANSWER);
        sk_shut_wr(c);
        r = sk_read_until_end(c, 5000, false, 0);
        CHECK_STR(sk_end_name(r.end), "EOF");
        close(c);
        /* over at finwait (judged at its end) before the next one starts */
        snprintf(closed, sizeof closed, "connection closed bytes_up=%llu bytes_down=%d",
                 (unsigned long long)uploads[i], ANSWER);
        CHECK(fwp_wait_log(fw, closed, 5000));
    }

    /* a request answered after it was read whole, then one the server drops at the EOF */
    c = sk_connect("127.0.0.1", port, 5000);
    CHECK(c >= 0);
    CHECK_EQ(sk_write_pattern(c, 0, HEAD, 2000), 0);
    CHECK_UINT(sk_read_n(c, ANSWER, 5000).bytes, ==, ANSWER);
    CHECK_EQ(sk_write_pattern(c, 0, HEAD, 2000), 0);
    sk_shut_wr(c);
    r = sk_read_until_end(c, 5000, false, 0);
    CHECK_UINT(r.bytes, ==, 0);
    close(c);
    f = fw_wait_finding(admin, "p", "half_close_ignored", 5000);
    CHECK_MSG(f, "the dropped request was not found");
    CHECK_DBL(fw_evidence(f, "request_bytes"), ==, HEAD);
    json_decref(f);
    /* and the early answers were not */
    CHECK_UINT(fw_findings_count(admin, "p", "half_close_ignored"), ==, 1);

    sk_thread_join(&th);
    close(s.lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("an answer given before the upload ended is not half_close_ignored");
    return 0;
}
