/*
 * half_close_probe: a half-closed connection whose closing peer is gone is let go; one whose
 * closing peer still waits for its answer is not.
 *
 * Orphan: the client sends a request, half-closes and closes its socket (TCP_LINGER2 1 s: its
 * kernel forgets the connection a second later, as Linux does after tcp_fin_timeout); the
 * server reads it to EOF and never answers nor closes. Connected directly the server would
 * learn at its next write; finwait held both its sockets for as long as the server kept its
 * own. With half_close_probe 1s, finwait's kernel probes the client, the client's kernel
 * answers with an RST, and finwait relays it: the server's socket is reset.
 *
 * Legitimate: the client half-closes and keeps its socket open (FIN_WAIT2) while the server
 * takes 3 s, several probes long, to answer. The probes are answered: the client reads the
 * whole answer and EOF, as directly.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("log: {level: info}\n"
                               "proxies:\n"
                               "  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                               "     half_close_probe: 1s}\n",
                               up);
    uint16_t port = fwp_port(fw, "t");
    int c, s, one_s = 1, fds = fwp_fd_count(fw);
    struct sk_read r;

    /* orphan */
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_EQ(setsockopt(c, IPPROTO_TCP, TCP_LINGER2, &one_s, sizeof one_s), 0);
    CHECK_EQ(sk_write_pattern(c, 0, 100, 5000), 0);
    sk_shut_wr(c);
    close(c);
    r = sk_read_until_end(s, 5000, true, 0);
    CHECK_MSG(r.bytes == 100 && r.end == SK_EOF, "the server read %llu bytes, then %s",
              (unsigned long long)r.bytes, sk_end_name(r.end));
    /* the client's kernel forgets after 1 s; the next probe (every 1 s) draws its RST */
    CHECK_MSG(sk_wait_state(s, TCP_CLOSE, 8000),
              "the server's socket is still %s 8 s after the client closed",
              sk_state_name(sk_tcp_state(s)));
    close(s);
    CHECK(fwp_wait_log(fw, "connection closed", 2000));
    CHECK_INT(fwp_fd_count(fw), <=, fds);
    TEST_PASS("a client gone after its FIN: the server leg is reset, finwait lets go of both");

    /* legitimate */
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_EQ(sk_write_pattern(c, 0, 100, 5000), 0);
    sk_shut_wr(c);
    r = sk_read_until_end(s, 5000, true, 0);
    CHECK_MSG(r.bytes == 100 && r.end == SK_EOF, "the server read %llu bytes, then %s",
              (unsigned long long)r.bytes, sk_end_name(r.end));
    CHECK(sk_silent(c, 3000)); /* the server's work, three probes long */
    CHECK_EQ(sk_write_pattern(s, 0, 5000, 5000), 0);
    close(s);
    r = sk_read_until_end(c, 5000, true, 0);
    CHECK_MSG(r.bytes == 5000 && r.pattern_ok && r.end == SK_EOF,
              "the waiting client read %llu bytes, then %s", (unsigned long long)r.bytes,
              sk_end_name(r.end));
    close(c);
    TEST_PASS("a client that waits in FIN_WAIT2 gets its late answer and EOF");

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
