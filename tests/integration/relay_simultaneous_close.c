/* Both peers send and half-close at once: each receives the other's bytes, then EOF. */
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define BYTES (4u << 20)

struct side {
    int fd;
    int wrc;
    struct sk_read r;
};

static void *run(void *arg)
{
    struct side *s = arg;

    s->wrc = sk_write_pattern(s->fd, 0, BYTES, 20000);
    shutdown(s->fd, SHUT_WR);
    s->r = sk_read_until_end(s->fd, 20000, true, 0);
    return NULL;
}

int main(void)
{
    struct side cl = {0}, sv = {0};
    struct sk_thread tc, ts;
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw =
        fwp_start("proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n", up);

    cl.fd = sk_connect("127.0.0.1", fwp_port(fw, "t"), 5000);
    CHECK(cl.fd >= 0);
    sv.fd = sk_accept(lfd, 5000);
    CHECK(sv.fd >= 0);
    sk_thread_start(&tc, run, &cl);
    sk_thread_start(&ts, run, &sv);
    sk_thread_join(&tc);
    sk_thread_join(&ts);
    CHECK_EQ(cl.wrc, 0);
    CHECK_EQ(sv.wrc, 0);
    CHECK_STR(sk_end_name(cl.r.end), "EOF");
    CHECK_STR(sk_end_name(sv.r.end), "EOF");
    CHECK_UINT(cl.r.bytes, ==, BYTES);
    CHECK_UINT(sv.r.bytes, ==, BYTES);
    CHECK(cl.r.pattern_ok && sv.r.pattern_ok);
    close(cl.fd);
    close(sv.fd);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("simultaneous close");
    return 0;
}
