/* slicer on both streams of an echo: a 512 KiB upload comes back byte for byte, over several
 * connections. Slicing a chunk inserts pieces into a shaping queue whose consumed head is
 * compacted away as it grows; the slice positions must survive that (they once went stale:
 * a negative-size memmove and a corrupted heap on the second connection). Bandwidth splits
 * its pieces the same way, and both faults together shape the same queue one after the
 * other. */
#include <poll.h>
#include <unistd.h>

#include "check.h"
#include "pair.h"
#include "sock.h"

#define UPLOAD     (512u * 1024)
#define CONNS      4
#define TIMEOUT_MS 20000

struct echo {
    int lfd;
    int conns;
};

/* The server: echo every byte back, then close after the client's FIN. */
static void *serve(void *arg)
{
    struct echo *e = arg;
    static uint8_t buf[65536];

    for (int i = 0; i < e->conns; i++) {
        int s = sk_accept(e->lfd, TIMEOUT_MS);
        ssize_t n;

        CHECK(s >= 0);
        while ((n = read(s, buf, sizeof buf)) > 0)
            CHECK_EQ(sk_write_all(s, buf, (size_t)n, TIMEOUT_MS), 0);
        close(s);
    }
    return NULL;
}

struct upload {
    int fd;
    int rc;
};

static void *upload(void *arg)
{
    struct upload *u = arg;

    u->rc = sk_write_pattern(u->fd, 0, UPLOAD, TIMEOUT_MS);
    sk_shut_wr(u->fd);
    return NULL;
}

static void echo_through(const char *faults, const char *what)
{
    struct pair p;
    struct echo e;
    struct sk_thread server;

    pair_start(&p, faults, "");
    e.lfd = p.lfd;
    e.conns = CONNS;
    sk_thread_start(&server, serve, &e);
    for (int i = 0; i < CONNS; i++) {
        struct upload u = {.fd = sk_connect("127.0.0.1", p.port, 5000)};
        struct sk_thread th;
        struct sk_read r;

        CHECK(u.fd >= 0);
        sk_thread_start(&th, upload, &u);
        r = sk_read_until_end(u.fd, TIMEOUT_MS, true, 0);
        sk_thread_join(&th);
        CHECK_MSG(u.rc == 0, "%s: connection %d: upload failed: %d", what, i, u.rc);
        CHECK_MSG(r.end == SK_EOF, "%s: connection %d ended with %s after %llu bytes", what, i,
                  sk_end_name(r.end), (unsigned long long)r.bytes);
        CHECK_UINT(r.bytes, ==, UPLOAD);
        CHECK_MSG(r.pattern_ok, "%s: connection %d: the echo differs from the upload", what, i);
        close(u.fd);
    }
    sk_thread_join(&server);
    pair_stop(&p);
    TEST_PASS(what);
}

int main(void)
{
    echo_through("[{type: slicer, average_size: 1000, size_variation: 900, delay: 10, "
                 "stream: both}]",
                 "slicer both ways: 4 x 512 KiB echoed intact");
    echo_through("[{type: bandwidth, rate: 100000, stream: both}, "
                 "{type: slicer, average_size: 700, size_variation: 600, delay: 10, "
                 "stream: both}]",
                 "bandwidth then slicer both ways: 4 x 512 KiB echoed intact");
    return 0;
}
