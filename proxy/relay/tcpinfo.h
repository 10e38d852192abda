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

#endif
