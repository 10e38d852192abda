/* GET /events: a subscriber that stops reading is dropped (its socket is reset) once it is
 * EVENTS_BUF_MAX behind, while the relay's round trip stays short, finwait's memory stays
 * bounded through thousands of connections, and a subscriber that reads loses nothing. */
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "evstream.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define CONNS 8000
/* About 2 kB of events per connection: 16 MB in all, 16 times what a subscriber may hold. */
#define RSS_GROWTH_MAX_KIB (6 * 1024)
/* A round trip through finwait takes well under a millisecond when the machine is idle, up to
 * about a second on the shared CI box while compilers run; a relay that waited for the
 * subscriber would not answer at all (sk_round_trip gives up after 10 s). */
#define RTT_MAX_MS 3000

/* Under AddressSanitizer freed memory waits in its quarantine (256 MB by default): RSS then
 * says nothing about finwait's own bounds. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static atomic_bool stop;

/* The upstream: accept and close, for as long as the test runs. */
static void *upstream(void *arg)
{
    int lfd = *(int *)arg, fd;

    while (!atomic_load(&stop))
        if ((fd = sk_accept(lfd, 100)) >= 0)
            close(fd);
    return NULL;
}

/* Lines of hay that hold needle. Line by line: a strstr() per match from where the last one
 * ended would make AddressSanitizer measure the rest of 16 MB each time. */
static int count(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    const char *end = hay + strlen(hay), *eol;
    int n = 0;

    for (const char *p = hay; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (memmem(p, (size_t)(eol - p), needle, nl))
            n++;
    }
    return n;
}

int main(void)
{
    uint16_t up = 0, up2 = 0, admin, port, port2;
    int lfd = sk_listen("127.0.0.1", &up), lfd2 = sk_listen("127.0.0.1", &up2), c0, s0, rc;
    struct fwp *fw = fwp_start("log: {level: warn}\n"
                               "admin: {listen: 127.0.0.1:0}\n"
                               "proxies:\n"
                               "  - {name: p, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                               "  - {name: rtt, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                               up, up2);
    struct sk_thread th;
    struct ev_sub *slow;
    struct ev_curl *good;
    int64_t rtt, rtt_max = 0, t0;
    long rss0, rss1;
    int fds0, fds;
    char *body, *log;

    admin = http_admin_port(fw);
    port = fwp_port(fw, "p");
    port2 = fwp_port(fw, "rtt");
    sk_thread_start(&th, upstream, &lfd);
    fds0 = fwp_fd_count(fw);

    /* a connection whose round trip is measured while the events flood */
    sk_pair(NULL, "127.0.0.1", port2, lfd2, &c0, &s0);
    CHECK_INT(sk_round_trip(c0, s0), <, RTT_MAX_MS);

    /* warm up: the relay's pools reach their size before the baseline is taken. Each client
     * reads its end, so finwait has accepted every one before the subscription (a connection
     * it accepts after it is one more "accepted" event than the count below). */
    for (int i = 0; i < 300; i++) {
        struct sk_read r = sk_connect_read_end(NULL, "127.0.0.1", port, 5000);
        CHECK_MSG(r.end == SK_EOF, "warm-up client %d: %s", i, sk_end_name(r.end));
    }
    rss0 = fwp_rss_kib(fw);

    /* a window of a few kB: the subscriber's socket fills up after a few events */
    slow = ev_subscribe(admin, "?proxy=p", 4096);
    good = ev_curl_start(admin, "?proxy=p", 60000);
    t0 = now_ms();
    for (int i = 0; i < CONNS; i++) {
        int c = sk_connect("127.0.0.1", port, 2000);
        CHECK_MSG(c >= 0, "connection %d", i);
        close(c);
        if (i % 200 == 0) {
            rtt = sk_round_trip(c0, s0);
            rtt_max = rtt > rtt_max ? rtt : rtt_max;
        }
    }
    fprintf(stderr, "%d connections in %lld ms; slowest round trip meanwhile %lld ms\n", CONNS,
            (long long)(now_ms() - t0), (long long)rtt_max);
    CHECK_INT(rtt_max, <, RTT_MAX_MS);
    TEST_PASS("the relay's round trip stays short while a subscriber does not read");

    /* dropped: reset by finwait, which the kernel shows without a read */
    CHECK_MSG(sk_wait_state(slow->fd, TCP_CLOSE, 5000), "subscriber's socket is %s",
              sk_state_name(sk_tcp_state(slow->fd)));
    CHECK_STR(sk_end_name(ev_wait_end(slow, 5000)), "ECONNRESET");
    CHECK(fwp_wait_log(fw, "an /events subscriber fell 1048576 bytes behind: dropped", 3000));
    TEST_PASS("the subscriber that does not read is dropped (RST)");

    rss1 = fwp_rss_kib(fw);
    fprintf(stderr, "RSS %ld KiB before the subscribers, %ld KiB after %d connections\n", rss0,
            rss1, CONNS);
    if (UNDER_ASAN) {
        fprintf(stderr, "AddressSanitizer build: RSS not checked\n");
    } else {
        CHECK_INT(rss1 - rss0, <, RSS_GROWTH_MAX_KIB);
        TEST_PASS("finwait's memory stays bounded");
    }

    /* the subscriber that reads saw every connection; the API still answers */
    CHECK_EQ(http_json(admin, "GET", "/version", NULL, NULL), 200);
    /* every connection closed (finwait holds the rtt pair, the reading subscriber and the
     * listeners it had at the start), and the reader has every close */
    t0 = now_ms();
    while ((fds = fwp_fd_count(fw)) > fds0 + 3 && now_ms() - t0 < 10000)
        usleep(20000);
    CHECK_INT(fds, <=, fds0 + 3);
    while (ev_curl_count(good, "\"event\":\"closed\"") < CONNS && now_ms() - t0 < 20000)
        usleep(50000);
    log = fwp_log(fw);
    CHECK_MSG(count(log, "dropped") == 1, "the reading subscriber was dropped too:\n%s", log);
    free(log);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 10000), 0);
    atomic_store(&stop, true);
    sk_thread_join(&th);
    body = ev_curl_finish(good, &rc);
    CHECK_EQ(rc, 0);
    CHECK_EQ(count(body, "\"event\":\"accepted\""), CONNS);
    /* the warm-up's last connections may close after the subscription */
    CHECK_INT(count(body, "\"event\":\"closed\""), >=, CONNS);
    CHECK_INT(count(body, "\"event\":\"closed\""), <=, CONNS + 300);
    free(body);
    TEST_PASS("a subscriber that reads gets every event");

    ev_close(slow);
    close(c0);
    close(s0);
    close(lfd);
    close(lfd2);
    return 0;
}
