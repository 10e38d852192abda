#include "proxy/relay/tcpinfo.h"

#include <errno.h>
#include <linux/sockios.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received (glibc's stops short) */
#include <netinet/in.h>
#include <stddef.h>
#include <sys/ioctl.h>
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
    return tcpinfo_sock_error(fd) == -ECONNRESET;
}

int tcpinfo_sock_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;

    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return 0;
    return -err;
}

int64_t tcpinfo_outq(int fd)
{
    int n = 0;

    if (fd < 0 || ioctl(fd, SIOCOUTQ, &n) != 0)
        return -errno;
    return n;
}

int64_t tcpinfo_unsent(int fd)
{
    int n = 0;

    if (fd < 0 || ioctl(fd, SIOCOUTQNSD, &n) != 0)
        return -errno;
    return n;
}

int64_t tcpinfo_inq(int fd)
{
    int n = 0;

    if (fd < 0 || ioctl(fd, SIOCINQ, &n) != 0)
        return -errno;
    return n;
}

int tcpinfo_fin_received(int fd, uint64_t bytes_read)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;

    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return -errno;
    if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return -ENOTSUP; /* a kernel older than 4.1 */
    /* the kernel counts the sequence number a FIN takes as one more byte received */
    return ti.tcpi_bytes_received > bytes_read;
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

int tcpinfo_keepalive(int fd, unsigned idle_s, unsigned intvl_s, unsigned count)
{
    int on = 1, idle = (int)idle_s, intvl = (int)intvl_s, cnt = (int)count;

    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) != 0)
        return -errno;
    return 0;
}
