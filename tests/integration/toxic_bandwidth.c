/* bandwidth (Toxiproxy): the server's bytes at `rate` KB/s. 400 KB at 400 KB/s take about a
 * second, never much less. */
#include <stdio.h>

#include "check.h"
#include "pair.h"
#include "sock.h"

struct w {
    int fd;
    int rc;
};

static void *writer(void *arg)
{
    struct w *w = arg;
    w->rc = sk_write_pattern(w->fd, 0, 400000, 10000);
    return NULL;
}

int main(void)
{
    struct pair p;
    struct sk_read r;
    struct sk_thread th;
    struct w w;
    int64_t t0;

    pair_start(&p, "[{type: bandwidth, rate: 400}]", "");
    pair_connect(&p, true);
    w.fd = p.s;
    t0 = now_ms();
    sk_thread_start(&th, writer, &w);
    r = sk_read_n(p.c, 400000, 10000);
    sk_thread_join(&th);
    CHECK_EQ(w.rc, 0);
    CHECK_UINT(r.bytes, ==, 400000);
    fprintf(stderr, "400 KB in %lld ms\n", (long long)(r.end_ms - t0));
    CHECK_INT(r.end_ms - t0, >=, 850);
    CHECK_INT(r.end_ms - t0, <, 3000);
    pair_stop(&p);
    TEST_PASS("bandwidth 400 KB/s");
    return 0;
}
