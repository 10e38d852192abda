/*
 * An early answer reaches the client. The server reads the first 512 KiB of a 4 MiB upload
 * while it flows, answers 40 bytes and closes with the rest unread: its kernel sends an RST.
 * Connected directly the client, still uploading, reads the 40 bytes (they came before the
 * RST), then ECONNRESET. Through finwait the write that fails on the server leg must not hide
 * the answer: finwait reads what the server sent before its RST and delivers it before relaying
 * the reset (before: 8 of 10 clients read it; the others were reset with the answer unread or
 * still in finwait's send queue).
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define UPLOAD (4 << 20)
#define ANSWER 40
#define READ   (512 << 10)

struct server {
    int lfd;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = sk_accept(s->lfd, 10000);
    char answer[ANSWER];

    CHECK(fd >= 0);
    /* read part of the upload while it flows: finwait is writing to the server when the RST
     * comes */
    CHECK_UINT(sk_read_n(fd, READ, 10000).bytes, ==, READ);
    memset(answer, 'a', sizeof answer);
    CHECK_EQ(sk_write_all(fd, answer, sizeof answer, 5000), 0);
    close(fd); /* unread data: RST */
    return NULL;
}

struct uploader {
    int fd;
    int rc;
};

static void *upload(void *arg)
{
    struct uploader *u = arg;

    u->rc = sk_write_pattern(u->fd, 0, UPLOAD, 10000);
    return NULL;
}

/* One client: uploads on a thread while it reads; returns the bytes of the answer it read. */
static uint64_t one(uint16_t port, int lfd)
{
    struct server s = {.lfd = lfd};
    struct uploader u;
    struct sk_thread st, ut;
    struct sk_read r;

    sk_thread_start(&st, serve, &s);
    u.fd = sk_connect("127.0.0.1", port, 5000);
    CHECK(u.fd >= 0);
    sk_thread_start(&ut, upload, &u);
    r = sk_read_until_end(u.fd, 10000, false, 0);
    sk_thread_join(&ut);
    sk_thread_join(&st);
    CHECK_MSG(r.end == SK_RESET || r.end == SK_EOF, "the client's read ended with %s",
              sk_end_name(r.end));
    close(u.fd);
    return r.bytes;
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw =
        fwp_start("proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n", up);
    uint16_t port = fwp_port(fw, "t");
    int direct = 0, through = 0;

    for (int i = 0; i < 10; i++) {
        direct += one(up, lfd) == ANSWER;
        through += one(port, lfd) == ANSWER;
    }
    fprintf(stderr, "read the answer: direct %d/10, through finwait %d/10\n", direct, through);
    CHECK_EQ(direct, 10);
    CHECK_EQ(through, 10);
    TEST_PASS("the answer before the server's RST reaches the client (10 of 10)");
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
