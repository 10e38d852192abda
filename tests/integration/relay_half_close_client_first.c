/* The client sends a request and half-closes; the server reads it to EOF, then answers 100 MiB
 * and closes. Through finwait the client must receive every byte, then EOF, exactly as on a
 * direct connection, while its socket sits in FIN_WAIT2. */
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define REQUEST 1000
#define ANSWER  (100ull << 20)

struct server {
    int lfd;
    struct sk_read req;
    int write_rc;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = sk_accept(s->lfd, 10000);

    CHECK(fd >= 0);
    s->req = sk_read_until_end(fd, 10000, true, 0);
    s->write_rc = sk_write_pattern(fd, 0, ANSWER, 60000);
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

    int fds;

    s.lfd = sk_listen("127.0.0.1", &up);
    fw = fwp_start("log: {level: info}\n"
                   "proxies:\n"
                   "  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                   up);
    fds = fwp_fd_count(fw);
    sk_thread_start(&th, serve, &s);
    c = sk_connect("127.0.0.1", fwp_port(fw, "t"), 5000);
    CHECK(c >= 0);
    CHECK_EQ(sk_write_pattern(c, 0, REQUEST, 5000), 0);
    sk_shut_wr(c);
    /* finwait's kernel ACKs our FIN: we are half-closed and wait for the answer */
    CHECK_MSG(sk_wait_state(c, TCP_FIN_WAIT2, 5000), "client state %s",
              sk_state_name(sk_tcp_state(c)));

    r = sk_read_until_end(c, 60000, true, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, ANSWER);
    CHECK(r.pattern_ok);
    sk_thread_join(&th);
    /* the server saw the whole request and then EOF before it answered */
    CHECK_STR(sk_end_name(s.req.end), "EOF");
    CHECK_UINT(s.req.bytes, ==, REQUEST);
    CHECK(s.req.pattern_ok);
    CHECK_EQ(s.write_rc, 0);

    close(c);
    /* the bulk answer went through the splice path: its pipe and descriptors are gone too */
    for (int64_t end = now_ms() + 5000; fwp_fd_count(fw) != fds && now_ms() < end;)
        poll(NULL, 0, 5);
    CHECK_EQ(fwp_fd_count(fw), fds);
    close(s.lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("half-close, client first: 100 MiB answer after the client's FIN");
    return 0;
}
