/* A client that does not read while the server writes 100 MiB: finwait must stop reading the
 * server instead of buffering. Its resident memory stays within a bound while the server is
 * blocked, and once the client reads, every byte arrives. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define ANSWER (100ull << 20)
/* finwait queues at most 64 KiB per destination plus the buffers in flight; allow for the
 * allocator and the sanitizers' bookkeeping, far below the 100 MiB it would otherwise hold */
#define RSS_GROWTH_LIMIT_KIB (8 * 1024)

struct server {
    int fd;
    int rc;
};

static void *serve(void *arg)
{
    struct server *s = arg;

    s->rc = sk_write_pattern(s->fd, 0, ANSWER, 60000);
    close(s->fd);
    return NULL;
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up), c;
    struct fwp *fw =
        fwp_start("proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n", up);
    struct server s;
    struct sk_thread th;
    struct sk_read r;
    long base, peak = 0;

    c = sk_connect("127.0.0.1", fwp_port(fw, "t"), 5000);
    CHECK(c >= 0);
    s.fd = sk_accept(lfd, 5000);
    CHECK(s.fd >= 0);
    base = fwp_rss_kib(fw);
    sk_thread_start(&th, serve, &s);
    /* the server fills every buffer on the way and blocks; sample finwait meanwhile */
    for (int i = 0; i < 100; i++) {
        long rss = fwp_rss_kib(fw);
        if (rss > peak)
            peak = rss;
        poll(NULL, 0, 10);
    }
    fprintf(stderr, "finwait RSS: %ld KiB idle, %ld KiB peak while the client does not read\n",
            base, peak);
    CHECK_INT(peak - base, <, RSS_GROWTH_LIMIT_KIB);
    r = sk_read_until_end(c, 60000, true, 0);
    sk_thread_join(&th);
    CHECK_EQ(s.rc, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, ANSWER);
    CHECK(r.pattern_ok);
    close(c);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("backpressure bounds memory, then every byte arrives");
    return 0;
}
