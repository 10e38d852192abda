/* The mirror: the server sends its greeting and half-closes first; the client keeps sending
 * 100 MiB after it saw EOF, and the server receives all of it, then EOF. */
#include <netinet/tcp.h>
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define GREETING 500
#define UPLOAD   (100ull << 20)

struct server {
    int lfd;
    struct sk_read got;
    int state_after_fin;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = sk_accept(s->lfd, 10000);

    CHECK(fd >= 0);
    CHECK_EQ(sk_write_pattern(fd, 0, GREETING, 5000), 0);
    sk_shut_wr(fd);
    s->state_after_fin = sk_wait_state(fd, TCP_FIN_WAIT2, 5000) ? TCP_FIN_WAIT2 : sk_tcp_state(fd);
    s->got = sk_read_until_end(fd, 60000, true, 0);
    close(fd);
    return NULL;
}

int main(void)
{
    struct server s = {0};
    struct sk_thread th;
    uint16_t up = 0;
    struct fwp *fw;
    struct sk_read r;
    int c;

    s.lfd = sk_listen("127.0.0.1", &up);
    fw = fwp_start("proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n", up);
    sk_thread_start(&th, serve, &s);
    c = sk_connect("127.0.0.1", fwp_port(fw, "t"), 5000);
    CHECK(c >= 0);
    r = sk_read_until_end(c, 10000, true, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, GREETING);
    /* we received the server's FIN: CLOSE_WAIT, and we may still send */
    CHECK_STR(sk_state_name(sk_tcp_state(c)), "CLOSE_WAIT");
    CHECK_EQ(sk_write_pattern(c, 0, UPLOAD, 60000), 0);
    sk_shut_wr(c);
    sk_thread_join(&th);
    CHECK_STR(sk_state_name(s.state_after_fin), "FIN_WAIT2");
    CHECK_STR(sk_end_name(s.got.end), "EOF");
    CHECK_UINT(s.got.bytes, ==, UPLOAD);
    CHECK(s.got.pattern_ok);
    close(c);
    close(s.lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("half-close, server first: 100 MiB upload after the server's FIN");
    return 0;
}
