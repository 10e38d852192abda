/* A bulk transfer on the splice path: bandwidth attached in its middle moves it to the copying
 * path (what was in the pipe first) and slows it; detached, it goes back to splice at full
 * speed. Every byte arrives once, in order (checked against the pattern, byte by byte). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define TOTAL     (300ull << 20)
#define RATE_KBPS 2000 /* 2 MB/s while attached */

#define CONFIG                                                                                     \
    "log: {level: debug}\n"                                                                        \
    "proxies:\n"                                                                                   \
    "  - {name: t, listen: 127.0.0.1:%u, upstream: 127.0.0.1:%u%s}\n"

struct writer {
    int fd;
    int rc;
};

static void *serve(void *arg)
{
    struct writer *w = arg;

    w->rc = sk_write_pattern(w->fd, 0, TOTAL, 120000);
    sk_shut_wr(w->fd);
    return NULL;
}

/* Read from fd until `want` bytes in all, EOF, or `until` (now_ms); every byte checked
 * against the pattern at its offset. Returns false at EOF. */
static bool read_until(int fd, uint64_t *got, uint64_t want, int64_t until)
{
    static char buf[1 << 16];

    while (*got < want && now_ms() < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, 50) <= 0)
            continue;
        n = read(fd, buf, want - *got < sizeof buf ? (size_t)(want - *got) : sizeof buf);
        CHECK_MSG(n >= 0, "read: %s", strerror(errno));
        if (n == 0)
            return false;
        for (ssize_t i = 0; i < n; i++)
            CHECK_MSG((uint8_t)buf[i] == sk_pattern(*got + (uint64_t)i),
                      "byte %llu is wrong: lost, duplicated or reordered",
                      (unsigned long long)(*got + (uint64_t)i));
        *got += (uint64_t)n;
    }
    return true;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), c;
    struct fwp *fw = fwp_start(CONFIG, 0, up, "");
    struct writer w;
    struct sk_thread th;
    uint64_t got = 0, mark;
    int64_t t0, t;
    char *log;

    port = fwp_port(fw, "t");
    CHECK(port != 0);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &w.fd);
    sk_thread_start(&th, serve, &w);

    CHECK(read_until(c, &got, 50ull << 20, now_ms() + 30000));
    CHECK_UINT(got, ==, 50ull << 20);
    CHECK(fwp_wait_log(fw, "downstream bytes move by splice(2)", 2000));
    TEST_PASS("an unfaulted bulk transfer is spliced");

    CHECK(fwp_reload(fw, CONFIG, port, up,
                     ",\n     faults: [{type: bandwidth, rate: 2000, stream: downstream}]"));
    CHECK(fwp_wait_log(fw, "downstream bytes leave splice(2)", 2000));
    /* what the pipe and the sockets held drains first; then the rate rules */
    t0 = now_ms();
    CHECK(read_until(c, &got, TOTAL, t0 + 500));
    mark = got;
    t = now_ms();
    CHECK(read_until(c, &got, TOTAL, t + 1000));
    fprintf(stderr, "while attached: %llu bytes in %lld ms (rate %d KB/s)\n",
            (unsigned long long)(got - mark), (long long)(now_ms() - t), RATE_KBPS);
    CHECK_UINT(got - mark, <=, (uint64_t)RATE_KBPS * 1000 * 3 / 2);
    CHECK_UINT(got - mark, >=, (uint64_t)RATE_KBPS * 1000 / 4);
    TEST_PASS("bandwidth attached mid-transfer: off splice, slowed to its rate");

    CHECK(fwp_reload(fw, CONFIG, port, up, ""));
    t = now_ms();
    CHECK(!read_until(c, &got, TOTAL + 1, t + 60000)); /* EOF */
    CHECK_UINT(got, ==, TOTAL);
    fprintf(stderr, "after detach: the remaining %llu MiB in %lld ms\n",
            (unsigned long long)((TOTAL - mark) >> 20), (long long)(now_ms() - t));
    sk_thread_join(&th);
    CHECK_EQ(w.rc, 0);
    log = fwp_log(fw);
    CHECK_INT(count(log, "downstream bytes move by splice(2)"), ==, 2);
    free(log);
    TEST_PASS("bandwidth detached: back on splice, every byte once and in order, then EOF");

    close(c);
    close(w.fd);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
