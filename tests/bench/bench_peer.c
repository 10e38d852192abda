/*
 * The benchmark's peers, one binary, one mode per figure. Servers run until killed; clients
 * print one line of numbers on stdout.
 *
 *   bench_peer serve PORT               sink (reads to EOF, then closes) and echo on PORT+1
 *   bench_peer bulk HOST PORT MIB N [hold]   N parallel streams of MIB MiB each; prints Gbit/s
 *   bench_peer rr HOST PORT COUNT [hold]     64-byte request/response; prints p50 and p99 in us
 *   bench_peer conns HOST PORT SECONDS  connect, 1-byte echo, close, in a loop; prints conn/s
 *   bench_peer idle HOST PORT N [SRC [SECONDS]]  opens N idle connections (from SRC), prints
 *                                       "ready", holds them until stdin closes (or SECONDS pass)
 *   bench_peer trickle HOST PORT N SRC MS echo|sink [SLOW_MS]   N connections from SRC, each
 *                                       sending 64 bytes every MS ms (echo: and reading them
 *                                       back); when stdin closes prints "ROUND_TRIPS SLOW
 *                                       SLOWEST_MS SENT_BYTES", SLOW: round trips >= SLOW_MS
 *
 * hold: the measured connections are opened and used first (bulk: WARM_MIB per stream, which
 * puts it on finwait's splice path; rr: 200 round trips), then "ready" is printed and the
 * peer obeys lines on stdin, each answered by one line:
 *   probe   bulk: PROBE_MIB more per stream; rr: one round trip. Prints "probe MS".
 *   go      the measurement proper, on the same connections; prints its figure and exits.
 * A benchmark that never says "go" is a bug: after COMMAND_WAIT_S without a line the peer
 * gives up with an error instead of hanging the run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WARM_MIB 16
#define PROBE_MIB 16
#define COMMAND_WAIT_S 120

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_peer: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int listen_on(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 65535) != 0)
        die("listen");
    return fd;
}

static int connect_to(const char *host, int port, const char *src)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    inet_pton(AF_INET, host, &a.sin_addr);
    if (src) {
        struct sockaddr_in s = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &s.sin_addr);
        if (bind(fd, (struct sockaddr *)&s, sizeof s) != 0)
            die("bind source");
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void *sink_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    size_t len = 1 << 18;
    char *buf = malloc(len); /* not on the small stacks of the server's threads */

    while (buf && read(fd, buf, len) > 0)
        ;
    free(buf);
    close(fd);
    return NULL;
}

static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg, one = 1;
    char buf[4096];
    ssize_t n;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    close(fd);
    return NULL;
}

struct acceptor {
    int lfd;
    void *(*fn)(void *);
};

static void *accept_loop(void *arg)
{
    struct acceptor *a = arg;
    pthread_attr_t at;

    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    for (;;) {
        int fd = accept(a->lfd, NULL, NULL);
        pthread_t t;
        if (fd < 0)
            continue;
        int r = pthread_create(&t, &at, a->fn, (void *)(intptr_t)fd);
        if (r != 0) {
            /* closing it would look like the proxy's doing to the client: say so */
            fprintf(stderr, "bench_peer: serve: no thread for a connection: %s\n", strerror(r));
            close(fd);
        }
    }
    return NULL;
}

static int serve(int port)
{
    struct acceptor sink = {listen_on(port), sink_conn};
    struct acceptor echo = {listen_on(port + 1), echo_conn};
    pthread_t t;

    pthread_create(&t, NULL, accept_loop, &sink);
    accept_loop(&echo);
    return 0;
}

/*
 * The next command line on stdin, without its newline, read a byte at a time so that no
 * stdio buffer hides a line from poll(). Gives up after COMMAND_WAIT_S without one.
 */
static void next_command(char *line, size_t len)
{
    size_t n = 0;

    for (;;) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        int r = poll(&p, 1, COMMAND_WAIT_S * 1000);
        char ch;

        if (r == 0) {
            fprintf(stderr, "bench_peer: no command on stdin within %d s\n", COMMAND_WAIT_S);
            exit(1);
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || read(0, &ch, 1) != 1) {
            fprintf(stderr, "bench_peer: stdin closed before \"go\"\n");
            exit(1);
        }
        if (ch == '\n')
            break;
        if (n + 1 < len)
            line[n++] = ch;
    }
    line[n] = '\0';
}

static void unknown_command(const char *line)
{
    fprintf(stderr, "bench_peer: unknown command '%s' (expected probe or go)\n", line);
    exit(1);
}

static void say(const char *fmt, double v)
{
    printf(fmt, v);
    fflush(stdout);
}

static void write_all(int fd, const char *buf, size_t len, uint64_t bytes)
{
    while (bytes > 0) {
        size_t n = bytes < len ? (size_t)bytes : len;
        ssize_t w = write(fd, buf, n);
        if (w <= 0)
            die("write");
        bytes -= (uint64_t)w;
    }
}

struct stream {
    const char *host;
    int port;
    int fd; /* already connected (hold), or -1: the stream connects */
    uint64_t bytes;
};

static void *send_stream(void *arg)
{
    struct stream *s = arg;
    int fd = s->fd >= 0 ? s->fd : connect_to(s->host, s->port, NULL);
    size_t len = 1 << 18;
    /* on the heap: thread-local storage would be charged to every thread's small stack */
    char *buf = malloc(len);
    char b;

    memset(buf, 'x', len);
    write_all(fd, buf, len, s->bytes);
    shutdown(fd, SHUT_WR);
    /* delivered when the sink has read everything and closed */
    if (read(fd, &b, 1) != 0)
        die("sink did not close");
    close(fd);
    free(buf);
    return NULL;
}

static int bulk(const char *host, int port, int mib, int n, bool hold)
{
    pthread_t t[64];
    struct stream s[64];
    double t0, dt;

    if (n < 1 || n > 64)
        return 2;
    for (int i = 0; i < n; i++)
        s[i] = (struct stream){host, port, -1, (uint64_t)mib << 20};
    if (hold) {
        size_t len = 1 << 18;
        char *buf = malloc(len), line[64];

        memset(buf, 'w', len);
        for (int i = 0; i < n; i++) {
            s[i].fd = connect_to(host, port, NULL);
            write_all(s[i].fd, buf, len, (uint64_t)WARM_MIB << 20);
        }
        say("ready\n", 0);
        for (next_command(line, sizeof line); strcmp(line, "go") != 0;
             next_command(line, sizeof line)) {
            if (strcmp(line, "probe") != 0)
                unknown_command(line);
            t0 = now_s();
            for (int i = 0; i < n; i++)
                write_all(s[i].fd, buf, len, (uint64_t)PROBE_MIB << 20);
            say("probe %.1f\n", (now_s() - t0) * 1e3);
        }
        free(buf);
    }
    t0 = now_s();
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, send_stream, &s[i]);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    dt = now_s() - t0;
    printf("%.3f\n", (double)s[0].bytes * n * 8 / dt / 1e9);
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One 64-byte round trip on fd; returns its duration in us. */
static double round_trip(int fd)
{
    char msg[64], back[64];
    double t0 = now_s();
    size_t got = 0;

    memset(msg, 'r', sizeof msg);
    if (write(fd, msg, sizeof msg) != sizeof msg)
        die("write");
    while (got < sizeof back) {
        ssize_t n = read(fd, back + got, sizeof back - got);
        if (n <= 0)
            die("read");
        got += (size_t)n;
    }
    return (now_s() - t0) * 1e6;
}

static int rr(const char *host, int port, int count, bool hold)
{
    int fd = connect_to(host, port, NULL);
    double *lat = malloc(sizeof(double) * (size_t)count);
    char line[64];

    if (hold) { /* a pooled connection: in use before the fault comes */
        for (int i = 0; i < 200; i++)
            round_trip(fd);
        say("ready\n", 0);
        for (next_command(line, sizeof line); strcmp(line, "go") != 0;
             next_command(line, sizeof line)) {
            if (strcmp(line, "probe") != 0)
                unknown_command(line);
            say("probe %.1f\n", round_trip(fd) / 1e3);
        }
    }
    for (int i = -200; i < count; i++) { /* 200 warm-up round trips */
        double us = round_trip(fd);
        if (i >= 0)
            lat[i] = us;
    }
    qsort(lat, (size_t)count, sizeof lat[0], cmp_d);
    printf("%.1f %.1f\n", lat[count / 2], lat[count * 99 / 100]);
    close(fd);
    free(lat);
    return 0;
}

static int conns(const char *host, int port, double seconds)
{
    double t0 = now_s();
    long n = 0;
    char b = 'c';
    struct linger lg = {1, 0};

    while (now_s() - t0 < seconds) {
        int fd = connect_to(host, port, NULL);
        if (write(fd, &b, 1) != 1 || read(fd, &b, 1) != 1)
            die("echo");
        /* an RST close keeps TIME_WAIT sockets from exhausting the ephemeral ports */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
        n++;
    }
    printf("%.0f\n", (double)n / (now_s() - t0));
    return 0;
}

static int idle(const char *host, int port, int n, const char *src, int seconds)
{
    int *fds = malloc(sizeof(int) * (size_t)n);
    char b;

    for (int i = 0; i < n; i++)
        fds[i] = connect_to(host, port, src);
    printf("ready\n");
    fflush(stdout);
    if (seconds > 0)
        sleep((unsigned)seconds);
    else
        while (read(0, &b, 1) > 0)
            ;
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    return 0;
}

/*
 * Other connections carrying traffic while the measured flow runs: n connections from src,
 * each sending 64 bytes every ms milliseconds; with echo, the next message waits for the
 * previous one's echo, and the slowest round trip shows whether a fault reached them.
 */
static int trickle(const char *host, int port, int n, const char *src, int ms, bool echo,
                   double slow_ms)
{
    struct pollfd *p = calloc((size_t)n + 1, sizeof *p);
    double *sent_at = calloc((size_t)n, sizeof *sent_at), next = now_s(), slowest = 0;
    size_t *got = calloc((size_t)n, sizeof *got);
    long round_trips = 0, slow = 0;
    uint64_t sent = 0;
    char msg[64], back[64];

    memset(msg, 't', sizeof msg);
    p[0] = (struct pollfd){.fd = 0, .events = POLLIN};
    for (int i = 0; i < n; i++)
        p[i + 1] = (struct pollfd){.fd = connect_to(host, port, src), .events = POLLIN};
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        double t = now_s();
        if (t >= next) {
            for (int i = 0; i < n; i++) {
                if (echo && sent_at[i] > 0)
                    continue; /* still waiting for its echo */
                if (write(p[i + 1].fd, msg, sizeof msg) != sizeof msg)
                    die("trickle write");
                sent += sizeof msg;
                sent_at[i] = t;
            }
            next += ms / 1e3;
            if (next < t)
                next = t + ms / 1e3; /* late (a loaded machine): no burst to catch up */
            continue;
        }
        if (poll(p, (nfds_t)n + 1, (int)((next - t) * 1e3) + 1) < 0 && errno != EINTR)
            die("poll");
        if (p[0].revents)
            break; /* stdin closed (or a line): the run is over */
        for (int i = 0; i < n; i++) {
            if (!p[i + 1].revents)
                continue;
            ssize_t r = read(p[i + 1].fd, back, sizeof back - got[i]);
            if (r <= 0)
                die("trickle read");
            got[i] += (size_t)r;
            if (echo && got[i] == sizeof back) {
                double rt = (now_s() - sent_at[i]) * 1e3;
                slowest = rt > slowest ? rt : slowest;
                slow += rt >= slow_ms;
                round_trips++;
                got[i] = 0;
                sent_at[i] = 0;
            }
        }
    }
    printf("%ld %ld %.1f %llu\n", round_trips, slow, slowest, (unsigned long long)sent);
    for (int i = 0; i < n; i++)
        close(p[i + 1].fd);
    free(p);
    free(sent_at);
    free(got);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 3 && strcmp(argv[1], "serve") == 0)
        return serve(atoi(argv[2]));
    if (argc >= 6 && strcmp(argv[1], "bulk") == 0)
        return bulk(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
                    argc > 6 && strcmp(argv[6], "hold") == 0);
    if (argc >= 5 && strcmp(argv[1], "rr") == 0)
        return rr(argv[2], atoi(argv[3]), atoi(argv[4]), argc > 5 && strcmp(argv[5], "hold") == 0);
    if (argc >= 5 && strcmp(argv[1], "conns") == 0)
        return conns(argv[2], atoi(argv[3]), atof(argv[4]));
    if (argc >= 5 && strcmp(argv[1], "idle") == 0)
        return idle(argv[2], atoi(argv[3]), atoi(argv[4]), argc > 5 ? argv[5] : NULL,
                    argc > 6 ? atoi(argv[6]) : 0);
    if (argc >= 8 && strcmp(argv[1], "trickle") == 0)
        return trickle(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5], atoi(argv[6]),
                       strcmp(argv[7], "echo") == 0, argc > 8 ? atof(argv[8]) : 1e9);
    fprintf(stderr, "usage: see the comment at the top of bench_peer.c\n");
    return 2;
}
