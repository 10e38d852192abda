#include "netpeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sock.h"

/* In a peer's child: the pipe on which it tells the test it is ready. */
static int ready_fd = -1;

void netpeer_ready(void)
{
    if (ready_fd < 0)
        return;
    if (write(ready_fd, "r", 1) != 1)
        _exit(92);
    close(ready_fd);
    ready_fd = -1;
}

void netpeer_sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    int r;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    r = system(cmd);
    CHECK_MSG(r == 0, "%s: exit %d", cmd, r);
}

/* Wait until the IPv6 address `addr` is usable (no longer tentative): nodad makes it so at
 * once, this is the check. */
static void wait_addr(const char *addr)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    int64_t end = now_ms() + 5000;

    CHECK(inet_pton(AF_INET6, addr, &a.sin6_addr) == 1);
    for (;;) {
        int fd = socket(AF_INET6, SOCK_STREAM, 0);
        int r = bind(fd, (struct sockaddr *)&a, sizeof a);
        close(fd);
        if (r == 0)
            return;
        CHECK_MSG(now_ms() < end, "address %s never became usable: %s", addr, strerror(errno));
        usleep(10000);
    }
}

void netpeer_start(struct netpeer *np, unsigned net, int (*fn)(void *arg), void *arg)
{
    int sync[2], back[2];
    char c;

    CHECK(net >= 1 && net <= 250);
    CHECK(pipe(sync) == 0 && pipe(back) == 0);
    np->net = net;
    np->pid = fork();
    CHECK(np->pid >= 0);
    if (np->pid == 0) {
        close(sync[1]);
        close(back[0]);
        /* a test that fails (or is killed by its timeout) takes its peers with it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (unshare(CLONE_NEWNET) != 0)
            _exit(90);
        if (write(back[1], "n", 1) != 1 || read(sync[0], &c, 1) != 1)
            _exit(91);
        netpeer_sh("ip link set lo up && ip link set eth0 up && "
                   "ip addr add 10.%u.0.2/24 dev eth0 && ip -6 addr add fd%u::2/64 dev eth0 nodad "
                   "&& ip route add default via 10.%u.0.1 && "
                   "ip -6 route add default via fd%u::1",
                   net, net, net, net);
        {
            char a6[64];
            snprintf(a6, sizeof a6, "fd%u::2", net);
            wait_addr(a6);
        }
        ready_fd = back[1]; /* fn says it is ready with netpeer_ready() */
        _exit(fn(arg));
    }
    close(sync[0]);
    close(back[1]);
    CHECK_MSG(read(back[0], &c, 1) == 1, "the peer namespace could not be made");
    netpeer_sh("ip link add fw%u type veth peer name eth0 netns %d && "
               "ip addr add 10.%u.0.1/24 dev fw%u && ip -6 addr add fd%u::1/64 dev fw%u nodad && "
               "ip link set fw%u up",
               net, (int)np->pid, net, net, net, net, net);
    CHECK(write(sync[1], "g", 1) == 1);
    CHECK_MSG(read(back[0], &c, 1) == 1, "the peer namespace did not get ready");
    close(sync[1]);
    close(back[0]);
    {
        char a6[64];
        snprintf(a6, sizeof a6, "fd%u::1", net);
        wait_addr(a6);
    }
}

int netpeer_wait(struct netpeer *np, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    int st;

    for (;;) {
        pid_t r = waitpid(np->pid, &st, WNOHANG);
        if (r == np->pid) {
            np->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (now_ms() >= end) {
            netpeer_stop(np);
            return -1;
        }
        usleep(10000);
    }
}

void netpeer_stop(struct netpeer *np)
{
    if (np->pid <= 0)
        return;
    kill(np->pid, SIGKILL);
    waitpid(np->pid, NULL, 0);
    np->pid = 0;
}

int netpeer_greeter(const uint16_t *ports, unsigned n)
{
    struct pollfd pf[8];

    CHECK(n <= 8);
    for (unsigned i = 0; i < n; i++) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(ports[i])};
        int fd = socket(AF_INET6, SOCK_STREAM, 0), zero = 0, one = 1;
        CHECK(fd >= 0);
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 64) == 0);
        pf[i] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    netpeer_ready();
    for (;;) {
        if (poll(pf, n, -1) <= 0)
            continue;
        for (unsigned i = 0; i < n; i++) {
            struct sockaddr_in6 peer;
            socklen_t len = sizeof peer;
            char host[INET6_ADDRSTRLEN], line[128];
            const char *h = host;
            int c;

            if (!(pf[i].revents & POLLIN))
                continue;
            c = accept(pf[i].fd, (struct sockaddr *)&peer, &len);
            if (c < 0)
                continue;
            inet_ntop(AF_INET6, &peer.sin6_addr, host, sizeof host);
            if (strncmp(h, "::ffff:", 7) == 0 && strchr(h, '.'))
                h += 7;
            snprintf(line, sizeof line, "from %s\n", h);
            if (write(c, line, strlen(line)) < 0) {
                /* the client is gone: nothing to tell it */
            }
            close(c);
        }
    }
}

enum sk_end netpeer_greeting_end(bool (*become)(const void *arg), const void *arg, const char *host,
                                 uint16_t port, const char *from)
{
    int st;
    pid_t pid = fork();

    CHECK(pid >= 0);
    if (pid == 0) {
        char greeting[128];
        struct sk_read r;
        if (!become(arg))
            _exit(100);
        snprintf(greeting, sizeof greeting, "from %s\n", from);
        r = sk_connect_read_end(NULL, host, port, 3000);
        _exit(r.bytes == strlen(greeting) ? (int)r.end : 101);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    CHECK_MSG(WEXITSTATUS(st) < 100, "the client %s",
              WEXITSTATUS(st) == 100 ? "could not become who makes the socket"
                                     : "did not read the greeting whole");
    return (enum sk_end)WEXITSTATUS(st);
}
