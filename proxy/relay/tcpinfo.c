#include "proxy/relay/tcpinfo.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* Indexed by the kernel's TCP_* state numbers (include/net/tcp_states.h). */
static const char *const state_names[] = {
    "CLOSED", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",    "TIME_WAIT",
    "CLOSED", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV",
};

const char *tcpinfo_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;

    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return "CLOSED";
    if (ti.tcpi_state >= sizeof state_names / sizeof state_names[0])
        return "UNKNOWN";
    return state_names[ti.tcpi_state];
}

bool tcpinfo_reset_pending(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;

    return fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == ECONNRESET;
}

int tcpinfo_stats(int fd, struct tcpinfo_stats *st)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;

    if (fd < 0)
        return -EBADF;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return -errno;
    st->rtt_us = ti.tcpi_rtt;
    st->retransmits = ti.tcpi_total_retrans;
    st->unacked = ti.tcpi_unacked;
    return 0;
}
