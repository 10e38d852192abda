/*
 * The benchmark's peers, one binary, one mode per figure. Servers run until killed; clients
 * print one line of numbers on stdout.
 *
 *   bench_peer serve PORT               sink (reads to EOF, then closes) and echo on PORT+1
 *   bench_peer bulk HOST PORT MIB N     N parallel streams of MIB MiB each; prints Gbit/s
 *   bench_peer rr HOST PORT COUNT       64-byte request/response; prints p50 and p99 in us
 *   bench_peer conns HOST PORT SECONDS  connect, 1-byte echo, close, in a loop; prints conn/s
 *   bench_peer idle HOST PORT N [SRC [SECONDS]]  opens N idle connections (from SRC), prints
 *                                       "ready", holds them until stdin closes (or SECONDS pass)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

struct stream {
    const char *host;
    int port;
    uint64_t bytes;
};

static void *send_stream(void *arg)
{
    struct stream *s = arg;
    int fd = connect_to(s->host, s->port, NULL);
    size_t len = 1 << 18;
    /* on the heap: thread-local storage would be charged to every thread's small stack */
    char *buf = malloc(len);
    uint64_t left = s->bytes;
    char b;

    memset(buf, 'x', len);
    while (left > 0) {
        size_t n = left < len ? (size_t)left : len;
        ssize_t w = write(fd, buf, n);
        if (w <= 0)
            die("write");
        left -= (uint64_t)w;
    }
    shutdown(fd, SHUT_WR);
    /* delivered when the sink has read everything and closed */
    if (read(fd, &b, 1) != 0)
        die("sink did not close");
    close(fd);
    free(buf);
    return NULL;
}

static int bulk(const char *host, int port, int mib, int n)
{
    pthread_t t[64];
    struct stream s = {host, port, (uint64_t)mib << 20};
    double t0 = now_s(), dt;

    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, send_stream, &s);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    dt = now_s() - t0;
    printf("%.3f\n", (double)s.bytes * n * 8 / dt / 1e9);
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int rr(const char *host, int port, int count)
{
    int fd = connect_to(host, port, NULL);
    char msg[64], back[64];
    double *lat = malloc(sizeof(double) * (size_t)count);

    memset(msg, 'r', sizeof msg);
    for (int i = -200; i < count; i++) { /* 200 warm-up round trips */
        double t0 = now_s();
        size_t got = 0;
        if (write(fd, msg, sizeof msg) != sizeof msg)
            die("write");
        while (got < sizeof back) {
            ssize_t n = read(fd, back + got, sizeof back - got);
            if (n <= 0)
                die("read");
            got += (size_t)n;
        }
        if (i >= 0)
            lat[i] = (now_s() - t0) * 1e6;
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

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 3 && strcmp(argv[1], "serve") == 0)
        return serve(atoi(argv[2]));
    if (argc >= 6 && strcmp(argv[1], "bulk") == 0)
        return bulk(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    if (argc >= 5 && strcmp(argv[1], "rr") == 0)
        return rr(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc >= 5 && strcmp(argv[1], "conns") == 0)
        return conns(argv[2], atoi(argv[3]), atof(argv[4]));
    if (argc >= 5 && strcmp(argv[1], "idle") == 0)
        return idle(argv[2], atoi(argv[3]), atoi(argv[4]), argc > 5 ? argv[5] : NULL,
                    argc > 6 ? atoi(argv[6]) : 0);
    fprintf(stderr, "usage: see the comment at the top of bench_peer.c\n");
    return 2;
}
