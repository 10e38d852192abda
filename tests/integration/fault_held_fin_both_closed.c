/* A FIN a fault holds "forever" (delay_fin forever, blackhole, timeout 0) is held while the
 * connection lives; once both peers have sent their FIN the connection is over. Over 100
 * connections per fault, half closed by the client first and half by the server first: the
 * peer the FIN was withheld from reads EOF once it has closed its own side, and finwait keeps
 * no socket in CLOSE_WAIT and no descriptor (it once kept both legs of every connection whose
 * client closed first, until SIGTERM). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "pair.h"
#include "sock.h"

#define CONNS              100
#define DEADLINE_MS        5000
#define TCP_CLOSE_WAIT_HEX 0x08 /* st column of /proc/net/tcp */

static const char req[] = "request", answer[] = "answer";

/* finwait's sockets in CLOSE_WAIT: its client legs (local port = the proxy's) and its server
 * legs (remote port = the server's), from /proc/PID/net/tcp. */
static int close_wait_count(pid_t pid, uint16_t proxy_port, uint16_t server_port)
{
    char path[64], line[512];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof path, "/proc/%d/net/tcp", (int)pid);
    f = fopen(path, "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof line, f)) {
        unsigned lport, rport, st;
        if (sscanf(line, " %*d: %*x:%x %*x:%x %x", &lport, &rport, &st) != 3)
            continue; /* the header */
        if (st == TCP_CLOSE_WAIT_HEX && (lport == proxy_port || rport == server_port))
            n++;
    }
    fclose(f);
    return n;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;

    CHECK(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
    return ntohs(sin.sin_port);
}

/* What passes in each direction: the bytes, the FIN. */
struct flow {
    bool up_bytes, up_fin, down_bytes, down_fin;
};

/* Send `msg` and FIN from `from`; `to` reads what arrives of it: the bytes, then EOF if the
 * FIN passes, else silence (what the fault promises while the connection lives). */
static void send_and_close(int from, int to, const char *msg, size_t len, bool bytes, bool fin,
                           bool check_silence, const char *what)
{
    CHECK_EQ(sk_write_all(from, msg, len, 2000), 0);
    sk_shut_wr(from);
    if (fin) {
        struct sk_read r = sk_read_until_end(to, 2000, false, 0);
        CHECK_STR(sk_end_name(r.end), "EOF");
        CHECK_UINT(r.bytes, ==, bytes ? len : 0);
        return;
    }
    if (bytes)
        CHECK_UINT(sk_read_n(to, len, 2000).bytes, ==, len);
    if (check_silence)
        CHECK_MSG(sk_silent(to, 300), "%s: a held FIN arrived while its peer had not closed", what);
}

static void run(const char *faults, struct flow fl, const char *what)
{
    static int c[CONNS], s[CONNS];
    struct pair p;
    uint16_t server_port;
    int base, fds = -1, cw = -1, eof_c = 0, eof_s = 0;
    int64_t deadline;

    pair_start(&p, faults, "");
    server_port = local_port(p.lfd);
    base = fwp_fd_count(p.fw);
    for (int i = 0; i < CONNS; i++) {
        sk_pair(NULL, "127.0.0.1", p.port, p.lfd, &c[i], &s[i]);
        if (i % 2 == 0) { /* the client closes first */
            send_and_close(c[i], s[i], req, sizeof req, fl.up_bytes, fl.up_fin, i == 0, what);
            send_and_close(s[i], c[i], answer, sizeof answer, false, false, false, what);
        } else {
            send_and_close(s[i], c[i], answer, sizeof answer, fl.down_bytes, fl.down_fin, i == 1,
                           what);
            send_and_close(c[i], s[i], req, sizeof req, false, false, false, what);
        }
    }
    /* both peers of every connection have closed: each reads the rest and EOF */
    deadline = now_ms() + DEADLINE_MS;
    for (int i = 0; i < CONNS; i++) {
        bool client_first = i % 2 == 0;
        int64_t left = deadline - now_ms();
        struct sk_read r = sk_read_until_end(c[i], left > 0 ? (int)left : 1, false, 0);
        if (r.end == SK_EOF) {
            eof_c++;
            /* the answer was left unread when the client closed first */
            CHECK_UINT(r.bytes, ==, fl.down_bytes && client_first ? sizeof answer : 0);
        }
        left = deadline - now_ms();
        r = sk_read_until_end(s[i], left > 0 ? (int)left : 1, false, 0);
        if (r.end == SK_EOF) {
            eof_s++;
            CHECK_UINT(r.bytes, ==, fl.up_bytes && !client_first ? sizeof req : 0);
        }
    }
    /* finwait lets go of both legs while the peers' sockets are still open */
    for (int64_t end = now_ms() + DEADLINE_MS; now_ms() < end; usleep(10000)) {
        fds = fwp_fd_count(p.fw);
        cw = close_wait_count(p.fw->pid, p.port, server_port);
        if (fds == base && cw == 0)
            break;
    }
    fprintf(stderr,
            "%s: %d connections: client EOF %d, server EOF %d; finwait fds %d before, %d after, "
            "%d in CLOSE_WAIT\n",
            what, CONNS, eof_c, eof_s, base, fds, cw);
    CHECK_EQ(cw, 0);
    CHECK_EQ(fds, base);
    CHECK_EQ(eof_c, CONNS);
    CHECK_EQ(eof_s, CONNS);
    for (int i = 0; i < CONNS; i++) {
        close(c[i]);
        close(s[i]);
    }
    pair_stop(&p);
    TEST_PASS(what);
}

int main(void)
{
    run("[{type: delay_fin, direction: downstream, delay: forever}]",
        (struct flow){.up_bytes = true, .up_fin = true, .down_bytes = true},
        "delay_fin forever downstream");
    run("[{type: delay_fin, direction: upstream, delay: forever}]",
        (struct flow){.up_bytes = true, .down_bytes = true, .down_fin = true},
        "delay_fin forever upstream");
    run("[{type: blackhole, direction: downstream}]",
        (struct flow){.up_bytes = true, .up_fin = true}, "blackhole downstream");
    run("[{type: blackhole}]", (struct flow){0}, "blackhole both ways");
    /* Toxiproxy's timeout with 0: finwait never closes it, the peers do */
    run("[{type: timeout, timeout: 0, stream: downstream}]",
        (struct flow){.up_bytes = true, .up_fin = true}, "timeout 0 downstream");
    return 0;
}
