/* The kernel's view of a socket, for the event log. */
#ifndef FINWAIT_PROXY_TCPINFO_H
#define FINWAIT_PROXY_TCPINFO_H

#include <stdbool.h>

/* "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT1"... as the kernel's tcpi_state says, or "CLOSED"
 * when the socket has no state to give (fd < 0, not a TCP socket, already closed). */
const char *tcpinfo_state(int fd);

/* True if the socket holds a reset it has not reported yet. libuv reports a hang-up after a
 * short read as EOF without reading the error, so data followed by an RST would look like a
 * FIN; the kernel still has the reset as the socket's pending error. */
bool tcpinfo_reset_pending(int fd);

#endif
