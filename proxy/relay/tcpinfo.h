/* The kernel's view of a socket, for the event log. */
#ifndef FINWAIT_PROXY_TCPINFO_H
#define FINWAIT_PROXY_TCPINFO_H

#include <stdbool.h>
#include <stdint.h>

/* "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT1"... as the kernel's tcpi_state says, or "CLOSED"
 * when the socket has no state to give (fd < 0, not a TCP socket, already closed). */
const char *tcpinfo_state(int fd);

/* What the kernel says of a connected socket's transmission, for the admin API. */
struct tcpinfo_stats {
    uint32_t rtt_us;      /* smoothed round-trip time */
    uint32_t retransmits; /* segments retransmitted over the connection's life */
    uint32_t unacked;     /* segments sent and not yet acknowledged */
};

/* Fill `st` from the socket; 0, or a negative errno (fd < 0: UV_EBADF-like -EBADF). */
int tcpinfo_stats(int fd, struct tcpinfo_stats *st);

/* True if the socket holds a reset it has not reported yet. libuv reports a hang-up after a
 * short read as EOF without reading the error, so data followed by an RST would look like a
 * FIN; the kernel still has the reset as the socket's pending error. */
bool tcpinfo_reset_pending(int fd);

/* The socket's pending error as a negative errno (taking it: the kernel clears it), or 0. */
int tcpinfo_sock_error(int fd);

/* Bytes (and a FIN, which takes one sequence number) written to the socket that its peer's
 * kernel has not acknowledged yet (SIOCOUTQ): what a reset of this socket would discard. After
 * the peer reset, what its kernel never acknowledged (the kernel keeps the count). Negative
 * errno on failure. */
int64_t tcpinfo_outq(int fd);
/* What the socket's kernel holds that it has not sent yet (SIOCOUTQNSD; the FIN counts one), or
 * a negative errno. */
int64_t tcpinfo_unsent(int fd);

/* Bytes the socket holds that finwait has not read yet (SIOCINQ), or a negative errno. */
int64_t tcpinfo_inq(int fd);

/* 1 if the peer's FIN arrived on this socket, 0 if not, negative errno if the kernel cannot
 * say. `bytes_read` is every byte read from the socket so far, and the socket must have been
 * read to its end: the kernel counts a FIN as one byte received. Works after a reset, when
 * read() no longer tells a FIN from a reset whose error was already taken. */
int tcpinfo_fin_received(int fd, uint64_t bytes_read);

/* Ask the kernel to probe the peer after idle_s quiet seconds, every intvl_s, giving up after
 * count unanswered probes (TCP keepalive). 0 or a negative errno. */
int tcpinfo_keepalive(int fd, unsigned idle_s, unsigned intvl_s, unsigned count);

#endif
