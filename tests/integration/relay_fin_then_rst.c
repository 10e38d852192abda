/*
 * FIN then RST is relayed as FIN then RST. The server answers, shuts down its side and closes
 * with the client's upload unread (as python's http.server does: shutdown, then close): its
 * kernel sends the answer, a FIN, then an RST. Connected directly the client reads the answer,
 * then EOF, and its socket is reset (CLOSED) right after. Through finwait the FIN must not be
 * swallowed by the RST that follows it (before: an RST alone, the client read ECONNRESET), nor
 * the RST left unnoticed behind the FIN. Two clients: one still open, one that half-closed its
 * upload before the answer came (finwait's server leg then in CLOSING).
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define UPLOAD (32 << 10) /* fits in the buffers on the way: written before the reset */
#define ANSWER 1000

struct server {
    int lfd;
    bool half_close; /* the client half-closes: answer once its FIN is in */
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = sk_accept(s->lfd, 10000);

    CHECK(fd >= 0);
    CHECK_UINT(sk_read_n(fd, 100, 10000).bytes, ==, 100);
    if (s->half_close)
        CHECK(sk_wait_state(fd, TCP_CLOSE_WAIT, 5000));
    CHECK_EQ(sk_write_pattern(fd, 0, ANSWER, 5000), 0);
    shutdown(fd, SHUT_WR);
    close(fd); /* the upload is unread: RST after the FIN */
    return NULL;
}

static void one(uint16_t port, int lfd, bool half_close, const char *path)
{
    struct server s = {.lfd = lfd, .half_close = half_close};
    struct sk_thread st;
    struct sk_read r;
    int c;

    sk_thread_start(&st, serve, &s);
    c = sk_connect("127.0.0.1", port, 5000);
    CHECK(c >= 0);
    CHECK_EQ(sk_write_pattern(c, 0, UPLOAD, 5000), 0);
    if (half_close)
        sk_shut_wr(c);
    r = sk_read_until_end(c, 5000, true, 0);
    sk_thread_join(&st);
    CHECK_MSG(r.bytes == ANSWER && r.pattern_ok && r.end == SK_EOF,
              "%s: the client read %llu bytes, then %s; expected %d, then EOF", path,
              (unsigned long long)r.bytes, sk_end_name(r.end), ANSWER);
    if (!half_close)
        /* the RST that followed the FIN arrives too (a socket that sent its own FIN is in
         * TIME_WAIT, where an RST changes nothing the application sees) */
        CHECK_MSG(sk_wait_state(c, TCP_CLOSE, 2000), "%s: the client's socket stayed %s", path,
                  sk_state_name(sk_tcp_state(c)));
    close(c);
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw =
        fwp_start("proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n", up);
    uint16_t port = fwp_port(fw, "t");

    for (int i = 0; i < 10; i++) {
        one(up, lfd, false, "direct");
        one(port, lfd, false, "through finwait");
    }
    TEST_PASS("answer, FIN, RST: the client reads the answer and EOF, then is reset (10 of 10)");
    for (int i = 0; i < 10; i++) {
        one(up, lfd, true, "direct, half-closed");
        one(port, lfd, true, "through finwait, half-closed");
    }
    TEST_PASS("the same after the client half-closed its upload (10 of 10)");
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
