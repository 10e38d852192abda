/* The kernel's view of a socket, for the event log. */
#ifndef FINWAIT_PROXY_TCPINFO_H
#define FINWAIT_PROXY_TCPINFO_H

/* "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT1"... as the kernel's tcpi_state says, or "CLOSED"
 * when the socket has no state to give (fd < 0, not a TCP socket, already closed). */
const char *tcpinfo_state(int fd);

#endif
