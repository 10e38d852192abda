#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Tests write to sockets their peers may have reset: errors, not signals. */
__attribute__((constructor)) static void ignore_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

static socklen_t make_addr(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        return sizeof *in;
    }
    CHECK_MSG(inet_pton(AF_INET6, host, &in6->sin6_addr) == 1, "bad address %s", host);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    return sizeof *in6;
}

int sk_listen(const char *host, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len = make_addr(host, *port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    CHECK(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    CHECK_MSG(bind(fd, (struct sockaddr *)&ss, len) == 0, "bind %s: %s", host, strerror(errno));
    CHECK(listen(fd, 4096) == 0);
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

static bool wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    int64_t left;

    for (;;) {
        left = deadline - now_ms();
        if (left < 0)
            left = 0;
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return true;
        if (r == 0)
            return false;
        if (errno != EINTR)
            return false;
    }
}

int sk_accept(int lfd, int timeout_ms)
{
    if (!wait_fd(lfd, POLLIN, now_ms() + timeout_ms))
        return -1;
    return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* A non-blocking connect, waited for: the socket, its SO_ERROR in *so_error (0: connected),
 * or -1 (errno set) when it could not be made or timed out. */
static int connect_wait(const char *src, const char *host, uint16_t port, int timeout_ms,
                        int *so_error)
{
    struct sockaddr_storage ss, sa;
    socklen_t len = make_addr(host, port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
    socklen_t elen = sizeof *so_error;

    CHECK(fd >= 0);
    if (src) {
        socklen_t slen = make_addr(src, 0, &sa);
        CHECK_MSG(bind(fd, (struct sockaddr *)&sa, slen) == 0, "bind %s: %s", src, strerror(errno));
    }
    if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS)
        err = errno;
    else if (!wait_fd(fd, POLLOUT, now_ms() + timeout_ms))
        err = ETIMEDOUT;
    if (err) {
        close(fd);
        errno = err;
        return -1;
    }
    *so_error = 0;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, so_error, &elen);
    return fd;
}

int sk_connect_from(const char *src, const char *host, uint16_t port, int timeout_ms)
{
    bool reset;
    int fd = sk_connect_seen(src, host, port, timeout_ms, &reset);

    if (fd >= 0 && reset) {
        close(fd);
        errno = ECONNRESET;
        return -1;
    }
    return fd;
}

void sk_pair(const char *src, const char *host, uint16_t port, int lfd, int *c, int *s)
{
    *c = sk_connect_from(src, host, port, 2000);
    CHECK_MSG(*c >= 0, "connect to %s:%u: %s", host, port, strerror(errno));
    *s = sk_accept(lfd, 2000);
    CHECK_MSG(*s >= 0, "the server did not get the connection through port %u", port);
}

int sk_connect(const char *host, uint16_t port, int timeout_ms)
{
    return sk_connect_from(NULL, host, port, timeout_ms);
}

uint8_t sk_pattern(uint64_t off)
{
    return (uint8_t)((off * 131 + (off >> 9)) & 0xff);
}

static int write_some(int fd, const uint8_t *p, size_t len, int64_t deadline)
{
    while (len > 0) {
        if (!wait_fd(fd, POLLOUT, deadline))
            return -ETIMEDOUT;
        ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int sk_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
    return write_some(fd, buf, len, now_ms() + timeout_ms);
}

int sk_write_pattern(int fd, uint64_t off, uint64_t len, int timeout_ms)
{
    static __thread uint8_t chunk[65536];
    int64_t deadline = now_ms() + timeout_ms;

    while (len > 0) {
        size_t n = len < sizeof chunk ? (size_t)len : sizeof chunk;
        for (size_t i = 0; i < n; i++)
            chunk[i] = sk_pattern(off + i);
        int r = write_some(fd, chunk, n, deadline);
        if (r < 0)
            return r;
        off += n;
        len -= n;
    }
    return 0;
}

int sk_connect_seen(const char *src, const char *host, uint16_t port, int timeout_ms, bool *reset)
{
    int err, fd = connect_wait(src, host, port, timeout_ms, &err);

    *reset = fd >= 0 && err == ECONNRESET;
    if (fd >= 0 && err && !*reset) {
        close(fd);
        errno = err;
        return -1;
    }
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

struct sk_read sk_connect_read_end(const char *src, const char *host, uint16_t port, int timeout_ms)
{
    static __thread uint8_t buf[65536];
    bool reset;
    int fd = sk_connect_seen(src, host, port, timeout_ms, &reset);
    struct sk_read r = {.pattern_ok = true};
    ssize_t n;

    CHECK_MSG(fd >= 0, "connect to %s:%u: %s", host, port, strerror(errno));
    if (reset) {
        while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
            r.bytes += (uint64_t)n;
        r.end = SK_RESET;
        r.end_ms = now_ms();
        close(fd);
        return r;
    }
    r = sk_read_until_end(fd, timeout_ms, false, 0);
    close(fd);
    return r;
}

struct sk_read sk_read_until_end(int fd, int timeout_ms, bool check, uint64_t max)
{
    static __thread uint8_t buf[65536];
    struct sk_read r = {.pattern_ok = true};
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        size_t want = sizeof buf;
        if (max && max - r.bytes < want)
            want = (size_t)(max - r.bytes);
        if (max && want == 0) {
            r.end = SK_TIMEOUT;
            break;
        }
        if (!wait_fd(fd, POLLIN, deadline)) {
            r.end = SK_TIMEOUT;
            break;
        }
        ssize_t n = recv(fd, buf, want, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0) {
            r.end = errno == ECONNRESET ? SK_RESET : SK_ERROR;
            r.err = errno;
            break;
        }
        if (n == 0) {
            r.end = SK_EOF;
            break;
        }
        if (!r.first_ms)
            r.first_ms = now_ms();
        if (check && r.pattern_ok)
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] != sk_pattern(r.bytes + (uint64_t)i)) {
                    r.pattern_ok = false;
                    break;
                }
        r.bytes += (uint64_t)n;
    }
    r.end_ms = now_ms();
    return r;
}

struct sk_read sk_read_n(int fd, uint64_t n, int timeout_ms)
{
    return sk_read_until_end(fd, timeout_ms, false, n);
}

bool sk_silent(int fd, int ms)
{
    return !wait_fd(fd, POLLIN, now_ms() + ms);
}

const char *sk_end_name(enum sk_end e)
{
    switch (e) {
    case SK_EOF:
        return "EOF";
    case SK_RESET:
        return "ECONNRESET";
    case SK_TIMEOUT:
        return "timeout";
    case SK_ERROR:
        return "error";
    }
    return "?";
}

int sk_tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return -1;
    return ti.tcpi_state;
}

const char *sk_state_name(int state)
{
    static const char *const names[] = {
        "?",         "ESTABLISHED", "SYN_SENT",   "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
        "TIME_WAIT", "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",    "CLOSING",
    };
    return state >= 0 && state < 12 ? names[state] : "?";
}

bool sk_wait_state(int fd, int state, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;

    for (;;) {
        if (sk_tcp_state(fd) == state)
            return true;
        if (now_ms() >= end)
            return false;
        poll(NULL, 0, 2); /* the kernel gives no event for a state change */
    }
}

void sk_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

void sk_shut_wr(int fd)
{
    CHECK(shutdown(fd, SHUT_WR) == 0);
}

void sk_thread_start(struct sk_thread *t, void *(*fn)(void *), void *arg)
{
    t->fn = fn;
    t->arg = arg;
    CHECK(pthread_create(&t->tid, NULL, fn, arg) == 0);
}

void sk_thread_join(struct sk_thread *t)
{
    pthread_join(t->tid, NULL);
}

void sk_relays(int lfd, const char *host, uint16_t port)
{
    int c, s;

    sk_pair(NULL, host, port, lfd, &c, &s);
    sk_round_trip(c, s);
    close(c);
    close(s);
}

int64_t sk_round_trip(int c, int s)
{
    int64_t t0 = now_ms();

    CHECK_EQ(sk_write_all(c, "ping", 4, 5000), 0);
    CHECK_UINT(sk_read_n(s, 4, 10000).bytes, ==, 4);
    CHECK_EQ(sk_write_all(s, "pong", 4, 5000), 0);
    CHECK_UINT(sk_read_n(c, 4, 10000).bytes, ==, 4);
    return now_ms() - t0;
}
