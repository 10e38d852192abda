/*
 * Packet engine: the segments of a TCP close that no socket call can touch (the kernel ACKs
 * a FIN by itself), dropped through NFQUEUE.
 *
 * Scope: iptables rules in chains owned by this process send to our queue only
 *   - OUTPUT: packets of sockets that carry our mark (finwait's faulted legs), and
 *   - INPUT: packets whose local socket carries it (`-m socket --restore-skmark`): the peers'
 *     segments to a faulted leg,
 * so unfaulted flows never leave the kernel. Each segment is judged once, at the hook where it
 * is sent from (on loopback a segment can pass both). --queue-bypass lets traffic through if
 * this process is gone.
 *
 * The queue's socket is polled by the loop; verdicts are given at once, never blocking.
 */
#include "proxy/faults/packet.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <netinet/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "proxy/faults/iptables.h"
#include "proxy/log.h"
#include "proxy/stats.h"

#define QUEUE_FIRST 4700
#define QUEUE_TRIES 64
#define MARK_BASE   0x46570000u /* "FW" */
#define COPY_RANGE  128         /* IP + TCP headers are all we look at */
/* A flow whose close is over (or that went quiet after both FINs) is let go after this; long
 * enough to see FIN retransmissions with a lowered tcp_orphan_retries. */
#define FLOW_IDLE_MS 10000

/* glibc's struct tcp_info stops before the byte counters the kernel has reported since 4.1; the
 * layout beyond it is the kernel's ABI (include/uapi/linux/tcp.h). */
struct tcp_info_bytes {
    struct tcp_info base;
    uint64_t pacing_rate;
    uint64_t max_pacing_rate;
    uint64_t bytes_acked;
    uint64_t bytes_received;
};

enum side {
    SIDE_FINWAIT, /* finwait's socket */
    SIDE_PEER,    /* the client or server on that leg */
};

struct packet_flow {
    struct packet_engine *pe;
    struct packet_flow *next;
    int family;
    uint8_t local[16], peer[16]; /* finwait's and the peer's address */
    uint16_t lport, pport;       /* network order */
    const struct fault *f;
    packet_event_cb ev_cb;
    packet_done_cb done_cb;
    void *ctx;
    /* what the socket had exchanged when the flow was added, to turn sequence numbers into
     * numbers relative to each side's ISN */
    uint64_t acked_at_add, received_at_add;
    bool peer_fin_at_add; /* the peer's FIN was in before the flow was added (CLOSE_WAIT) */
    bool have_isn[2];
    uint32_t isn[2];
    bool fin_seen[2];
    uint32_t fin_seq[2]; /* sequence number of each side's FIN */
    unsigned fin_nth[2]; /* times each side's FIN was seen */
    unsigned ack_nth;    /* times the final ACK was seen */
    uint32_t drops;
    uint64_t last_ms; /* last close segment, for FLOW_IDLE_MS */
    bool finished;    /* the close is over: the sweep lets the flow go */
};

struct packet_engine {
    uv_loop_t *loop;
    struct mnl_socket *nl;
    unsigned portid;
    uint16_t queue;
    uint32_t mark;
    uv_poll_t poll;
    uv_timer_t sweep;
    int closing_handles;
    bool v6_rules;
    struct packet_flow *flows;
    uint64_t read_ns; /* uv_hrtime() when the batch being judged was read from the queue */
    bool draining;    /* drain_queue() is running: its buffer is in use */
    char chain_out[32], chain_in[32];
};

/* --- iptables (proxy/faults/iptables.c) --- */

static int install_rules(struct packet_engine *pe, const char *tool, char *err, size_t errlen)
{
    char script[2048], out[1024];

    /* Segments with SYN set never go to the queue: the faults judge only the close, and
     * queueing the handshakes a marked listener sees made about one unfaulted connection in
     * 50,000 fail (its first bytes never reached the server, its client got a reset).
     * INPUT borrows the packet mark to carry the socket's: a packet someone else marked is
     * left alone, and one that is not queued leaves with the 0 it came with, so the host's own
     * mark-based rules see what they would without finwait. */
    snprintf(script, sizeof script,
             "*mangle\n"
             ":%s - [0:0]\n"
             ":%s - [0:0]\n"
             "-I OUTPUT 1 -j %s\n"
             "-I INPUT 1 -j %s\n"
             "-A %s -p tcp --tcp-flags SYN NONE -m mark --mark 0x%x"
             " -j NFQUEUE --queue-num %u --queue-bypass\n"
             "-A %s -p tcp -m mark ! --mark 0x0 -j RETURN\n"
             "-A %s -p tcp -m socket --restore-skmark\n"
             "-A %s -p tcp --tcp-flags SYN NONE -m mark --mark 0x%x"
             " -j NFQUEUE --queue-num %u --queue-bypass\n"
             "-A %s -p tcp -j MARK --set-mark 0x0\n"
             "COMMIT\n",
             pe->chain_out, pe->chain_in, pe->chain_out, pe->chain_in, pe->chain_out, pe->mark,
             pe->queue, pe->chain_in, pe->chain_in, pe->chain_in, pe->mark, pe->queue,
             pe->chain_in);
    if (iptables_restore(tool, script, out, sizeof out) != 0) {
        snprintf(err, errlen, "%s failed to install finwait's rules: %s", tool, out);
        return UV_EIO;
    }
    return 0;
}

/* --- netlink --- */

static int nl_send(struct packet_engine *pe, struct nlmsghdr *nlh)
{
    return mnl_socket_sendto(pe->nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

/* Send a config message and wait for its ACK: errors such as EBUSY (queue taken) come back
 * this way. Done before the socket is non-blocking. */
static int nl_config(struct packet_engine *pe, struct nlmsghdr *nlh)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    int r;

    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = (unsigned)time(NULL);
    r = nl_send(pe, nlh);
    if (r < 0)
        return r;
    r = (int)mnl_socket_recvfrom(pe->nl, buf, sizeof buf);
    if (r < 0)
        return -errno;
    r = mnl_cb_run(buf, (size_t)r, nlh->nlmsg_seq, pe->portid, NULL, NULL);
    return r < 0 ? -errno : 0;
}

static int bind_queue(struct packet_engine *pe, uint16_t q)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    int r;

    nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
    r = nl_config(pe, nlh);
    if (r < 0)
        return r;
    nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, COPY_RANGE);
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
    return nl_config(pe, nlh);
}

static void verdict(struct packet_engine *pe, uint32_t id, int v)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, pe->queue);

    nfq_nlmsg_verdict_put(nlh, (int)id, v);
    if (nl_send(pe, nlh) < 0)
        LOG(LOG_LEVEL_WARN, NULL, "packet", "verdict for packet %u failed: %s", id,
            strerror(errno));
}

/* --- flows --- */

/* The connections' clock (uv_hrtime), in ms: one clock for the engine and the relay. */
static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000;
}

/* done_cb may free the connection and even close the engine: it is only called from the
 * sweep timer and from packet_engine_close, on flows already taken off the list. */
static void flow_release(struct packet_flow *fl)
{
    fl->done_cb(fl->ctx); /* ctx is never touched again */
    free(fl);
}

static struct packet_flow *flow_find(struct packet_engine *pe, int family, const uint8_t *src,
                                     uint16_t sport, const uint8_t *dst, uint16_t dport,
                                     enum side *from)
{
    size_t alen = family == AF_INET ? 4 : 16;

    for (struct packet_flow *fl = pe->flows; fl; fl = fl->next) {
        if (fl->family != family || fl->finished)
            continue;
        if (fl->lport == sport && fl->pport == dport && !memcmp(fl->local, src, alen) &&
            !memcmp(fl->peer, dst, alen)) {
            *from = SIDE_FINWAIT;
            return fl;
        }
        if (fl->pport == sport && fl->lport == dport && !memcmp(fl->peer, src, alen) &&
            !memcmp(fl->local, dst, alen)) {
            *from = SIDE_PEER;
            return fl;
        }
    }
    return NULL;
}

static void tcp_flags_text(uint8_t fl, char *buf)
{
    char *p = buf;

    if (fl & 0x02)
        *p++ = 'S';
    if (fl & 0x01)
        *p++ = 'F';
    if (fl & 0x04)
        *p++ = 'R';
    if (fl & 0x08)
        *p++ = 'P';
    if (fl & 0x10)
        *p++ = 'A';
    *p = '\0';
}

static void report(struct packet_flow *fl, enum side from, bool dropped, const char *what,
                   uint8_t flags, uint32_t seq, uint32_t ack, unsigned nth)
{
    struct packet_event ev = {.dropped = dropped,
                              .from_finwait = from == SIDE_FINWAIT,
                              .what = what,
                              .nth = nth,
                              .t_ns = fl->pe->read_ns};
    enum side to = from == SIDE_FINWAIT ? SIDE_PEER : SIDE_FINWAIT;

    tcp_flags_text(flags, ev.flags);
    ev.seq_rel = fl->have_isn[from] ? seq - fl->isn[from] : seq;
    ev.ack_rel = fl->have_isn[to] ? ack - fl->isn[to] : ack;
    fl->ev_cb(fl->ctx, &ev);
}

/* Drop this one? The fault's count decides: `count` drops, then the segment passes. */
static bool take_drop(struct packet_flow *fl)
{
    if (fl->f->count == COUNT_ALL || fl->drops < fl->f->count) {
        fl->drops++;
        return true;
    }
    return false;
}

/*
 * Learn side s's ISN from its next sequence number `next` (its own seq, or the other side's
 * ack) and what it had sent when the flow was added. A peer FIN that came in before that
 * (the socket was in CLOSE_WAIT) is placed now: the engine never saw it.
 */
static void learn_isn(struct packet_flow *fl, enum side s, uint32_t next, bool from_ack)
{
    uint64_t before = s == SIDE_FINWAIT ? fl->acked_at_add : fl->received_at_add;
    bool fin_before = s == SIDE_PEER && fl->peer_fin_at_add;

    fl->isn[s] = next - 1 - (uint32_t)before - (from_ack && fin_before ? 1 : 0);
    fl->have_isn[s] = true;
    if (fin_before && !fl->fin_seen[s]) {
        fl->fin_seen[s] = true;
        fl->fin_seq[s] = fl->isn[s] + 1 + (uint32_t)before;
        fl->fin_nth[s] = 1;
    }
}

/* Decide about one TCP segment of a tracked flow. Returns NF_ACCEPT or NF_DROP. */
static int judge(struct packet_flow *fl, enum side from, const uint8_t *tcp, size_t tcplen,
                 size_t payload)
{
    uint32_t seq, ack;
    uint8_t flags;
    enum side other = from == SIDE_FINWAIT ? SIDE_PEER : SIDE_FINWAIT;
    const struct fault *f = fl->f;
    bool drop;

    if (tcplen < 20)
        return NF_ACCEPT;
    memcpy(&seq, tcp + 4, 4);
    memcpy(&ack, tcp + 8, 4);
    seq = ntohl(seq);
    ack = ntohl(ack);
    flags = tcp[13];
    if (!fl->have_isn[from] && !(flags & 0x02))
        /* the first segment after the flow was added: nothing was in flight then */
        learn_isn(fl, from, seq, false);
    if (!fl->have_isn[other] && (flags & 0x10))
        /* its ACK number is the other side's next sequence number, likewise */
        learn_isn(fl, other, ack, true);
    if (flags & 0x04) { /* RST: the close is over */
        fl->finished = true;
        return NF_ACCEPT;
    }
    if (flags & 0x01) { /* FIN */
        uint32_t fseq = seq + (uint32_t)payload;
        if (!fl->fin_seen[from]) {
            fl->fin_seen[from] = true;
            fl->fin_seq[from] = fseq;
        }
        fl->fin_nth[from]++;
        fl->last_ms = mono_ms();
        drop = f->type == FAULT_DROP_FIN &&
               (f->from == FAULT_FROM_FINWAIT) == (from == SIDE_FINWAIT) && take_drop(fl);
        report(fl, from, drop, "FIN", flags, fseq, ack, fl->fin_nth[from]);
        return drop ? NF_DROP : NF_ACCEPT;
    }
    /* the final ACK: a pure ACK acknowledging the other side's FIN, from a side that has sent
     * its own FIN already */
    if ((flags & 0x10) && !(flags & 0x02) && payload == 0 && fl->fin_seen[from] &&
        fl->fin_seen[other] && ack == fl->fin_seq[other] + 1) {
        fl->ack_nth++;
        fl->last_ms = mono_ms();
        drop = f->type == FAULT_DROP_FINAL_ACK && take_drop(fl);
        report(fl, from, drop, "final ACK", flags, seq, ack, fl->ack_nth);
        if (!drop)
            fl->finished = true; /* both FINs acknowledged: nothing left to drop */
        return drop ? NF_DROP : NF_ACCEPT;
    }
    return NF_ACCEPT;
}

/* --- the queue --- */

/* A port in network order, from a packet that may not be aligned for uint16_t. */
static uint16_t port_at(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
    struct packet_engine *pe = data;
    struct nlattr *attr[NFQA_MAX + 1] = {0};
    struct nfqnl_msg_packet_hdr *ph;
    const uint8_t *pkt, *tcp;
    size_t plen, iphl, tcplen, total;
    uint8_t proto;
    int family, v = NF_ACCEPT;
    struct packet_flow *fl;
    enum side from;
    uint32_t id;

    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
        return MNL_CB_OK;
    ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
    id = ntohl(ph->packet_id);
    if (!attr[NFQA_PAYLOAD])
        goto out;
    pkt = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
    plen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
    if (plen < 20)
        goto out;
    if ((pkt[0] >> 4) == 4) {
        family = AF_INET;
        iphl = (size_t)(pkt[0] & 0x0f) * 4;
        proto = pkt[9];
        total = (size_t)pkt[2] << 8 | pkt[3];
        if (proto != IPPROTO_TCP || plen < iphl + 20)
            goto out;
        tcp = pkt + iphl;
        fl = flow_find(pe, family, pkt + 12, port_at(tcp), pkt + 16, port_at(tcp + 2), &from);
    } else {
        family = AF_INET6;
        iphl = 40;
        proto = pkt[6];
        total = ((size_t)pkt[4] << 8 | pkt[5]) + 40;
        /* extension headers are not followed: a TCP close never carries them here */
        if (proto != IPPROTO_TCP || plen < iphl + 20)
            goto out;
        tcp = pkt + iphl;
        fl = flow_find(pe, family, pkt + 8, port_at(tcp), pkt + 24, port_at(tcp + 2), &from);
    }
    /* judged where it is sent: finwait's at OUTPUT, the peer's at INPUT */
    if (!fl || (from == SIDE_FINWAIT) != (ph->hook == NF_INET_LOCAL_OUT))
        goto out;
    tcplen = (size_t)(tcp[12] >> 4) * 4;
    if (total < iphl + tcplen)
        goto out;
    v = judge(fl, from, tcp, plen - iphl, total - iphl - tcplen);
out:
    stats_packet_verdict(v == NF_DROP);
    verdict(pe, id, v);
    return MNL_CB_OK;
}

/* Judge every segment the queue holds now. */
static void drain_queue(struct packet_engine *pe)
{
    static char buf[65536 + 8192];

    if (pe->draining || pe->closing_handles)
        return; /* an event callback recording an event: the outer call judges the rest */
    pe->draining = true;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(pe->nl, buf, sizeof buf);
        /* the kernel gives no time of its own for these segments (no NFQA_TIMESTAMP on
         * loopback): the moment they are read is the earliest finwait knows of them */
        pe->read_ns = uv_hrtime();
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ENOBUFS)
                LOG(LOG_LEVEL_WARN, NULL, "packet", "queue read failed: %s", strerror(errno));
            break;
        }
        mnl_cb_run(buf, (size_t)n, 0, pe->portid, on_packet, pe);
    }
    pe->draining = false;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)events;
    if (status < 0)
        return;
    drain_queue(h->data);
}

void packet_engine_poll(struct packet_engine *pe)
{
    drain_queue(pe);
}

/* Let go of flows whose close is over: done, or quiet long enough after both FINs. */
static void on_sweep(uv_timer_t *t)
{
    struct packet_engine *pe = t->data;
    struct packet_flow **pp = &pe->flows, *over = NULL;
    uint64_t now = mono_ms();

    while (*pp) {
        struct packet_flow *fl = *pp;
        if (fl->finished || (fl->last_ms && now - fl->last_ms > FLOW_IDLE_MS)) {
            *pp = fl->next;
            fl->next = over;
            over = fl;
            continue;
        }
        pp = &fl->next;
    }
    while (over) {
        struct packet_flow *fl = over;
        over = fl->next;
        flow_release(fl);
    }
}

/* --- API --- */

int packet_engine_open(uv_loop_t *loop, struct packet_engine **out, char *err, size_t errlen)
{
    static const char grant[] = IPTABLES_GRANT;
    struct packet_engine *pe;
    int r = UV_EBUSY;

    *out = NULL;
    if (!iptables_have_cap_net_admin()) {
        snprintf(err, errlen, "packet-level faults need CAP_NET_ADMIN: %s", grant);
        return UV_EPERM;
    }
    if (!iptables_have_tool("iptables-restore") || !iptables_have_tool("iptables-save")) {
        snprintf(err, errlen,
                 "packet-level faults need the iptables tools (iptables-restore, iptables-save): "
                 "apt-get install iptables");
        return UV_ENOENT;
    }
    pe = calloc(1, sizeof *pe);
    if (!pe) {
        snprintf(err, errlen, "out of memory");
        return UV_ENOMEM;
    }
    pe->loop = loop;
    snprintf(pe->chain_out, sizeof pe->chain_out, IPTABLES_CHAIN_PREFIX "%d-OUT", (int)getpid());
    snprintf(pe->chain_in, sizeof pe->chain_in, IPTABLES_CHAIN_PREFIX "%d-IN", (int)getpid());
    /* chains of finwait processes that died without removing theirs */
    if (iptables_remove_chains(false, "mangle", false, NULL, 0, err, errlen) < 0)
        goto fail_free;
    if (iptables_have_tool("ip6tables-restore")) /* IPv6 is best effort, as its rules are */
        iptables_remove_chains(true, "mangle", false, NULL, 0, err, errlen);

    pe->nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!pe->nl || mnl_socket_bind(pe->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        snprintf(err, errlen, "cannot open a netfilter queue socket: %s (%s)", strerror(errno),
                 grant);
        r = UV_EPERM;
        goto fail_nl;
    }
    pe->portid = mnl_socket_get_portid(pe->nl);
    for (int i = 0; i < QUEUE_TRIES; i++) {
        r = bind_queue(pe, (uint16_t)(QUEUE_FIRST + i));
        if (r == 0) {
            pe->queue = (uint16_t)(QUEUE_FIRST + i);
            break;
        }
    }
    if (r < 0) {
        snprintf(err, errlen, "no free netfilter queue in %d..%d: %s", QUEUE_FIRST,
                 QUEUE_FIRST + QUEUE_TRIES - 1, strerror(-r));
        goto fail_nl;
    }
    pe->mark = MARK_BASE | pe->queue;
    r = install_rules(pe, "iptables-restore", err, errlen);
    if (r < 0)
        goto fail_nl;
    if (iptables_have_tool("ip6tables-restore")) {
        char e6[256];
        pe->v6_rules = install_rules(pe, "ip6tables-restore", e6, sizeof e6) == 0;
        if (!pe->v6_rules)
            LOG(LOG_LEVEL_WARN, NULL, "packet", "IPv6 packet faults unavailable: %s", e6);
    }
    fcntl(mnl_socket_get_fd(pe->nl), F_SETFL, O_NONBLOCK);
    uv_poll_init(loop, &pe->poll, mnl_socket_get_fd(pe->nl));
    pe->poll.data = pe;
    uv_poll_start(&pe->poll, UV_READABLE, on_readable);
    uv_timer_init(loop, &pe->sweep);
    pe->sweep.data = pe;
    uv_timer_start(&pe->sweep, on_sweep, 1000, 1000);
    LOG(LOG_LEVEL_INFO, NULL, "packet",
        "packet engine: queue %u, mark 0x%x, chains %s/%s (removed at exit)", pe->queue, pe->mark,
        pe->chain_out, pe->chain_in);
    *out = pe;
    return 0;

fail_nl:
    if (pe->nl)
        mnl_socket_close(pe->nl);
fail_free:
    free(pe);
    return r < 0 ? r : UV_EIO;
}

uint32_t packet_engine_mark(const struct packet_engine *pe)
{
    return pe->mark;
}

int packet_flow_add(struct packet_engine *pe, int fd, const struct sockaddr *peer,
                    const struct fault *f, packet_event_cb ev_cb, packet_done_cb done_cb, void *ctx,
                    struct packet_flow **out)
{
    struct sockaddr_storage l, p;
    socklen_t ll = sizeof l, pl = sizeof p;
    struct packet_flow *fl;
    struct tcp_info_bytes ti;
    socklen_t tl = sizeof ti;

    if (getsockname(fd, (struct sockaddr *)&l, &ll) != 0)
        return -errno;
    if (peer)
        memcpy(&p, peer,
               peer->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                          : sizeof(struct sockaddr_in6));
    else if (getpeername(fd, (struct sockaddr *)&p, &pl) != 0)
        return -errno;
    fl = calloc(1, sizeof *fl);
    if (!fl)
        return UV_ENOMEM;
    fl->pe = pe;
    fl->family = l.ss_family;
    if (l.ss_family == AF_INET) {
        memcpy(fl->local, &((struct sockaddr_in *)&l)->sin_addr, 4);
        memcpy(fl->peer, &((struct sockaddr_in *)&p)->sin_addr, 4);
        fl->lport = ((struct sockaddr_in *)&l)->sin_port;
        fl->pport = ((struct sockaddr_in *)&p)->sin_port;
    } else {
        memcpy(fl->local, &((struct sockaddr_in6 *)&l)->sin6_addr, 16);
        memcpy(fl->peer, &((struct sockaddr_in6 *)&p)->sin6_addr, 16);
        fl->lport = ((struct sockaddr_in6 *)&l)->sin6_port;
        fl->pport = ((struct sockaddr_in6 *)&p)->sin6_port;
    }
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0) {
        fl->acked_at_add = ti.bytes_acked;
        fl->received_at_add = ti.bytes_received;
        fl->peer_fin_at_add =
            ti.base.tcpi_state == TCP_CLOSE_WAIT || ti.base.tcpi_state == TCP_LAST_ACK;
    }
    fl->f = f;
    fl->ev_cb = ev_cb;
    fl->done_cb = done_cb;
    fl->ctx = ctx;
    fl->next = pe->flows;
    pe->flows = fl;
    *out = fl;
    return 0;
}

static void on_engine_handle_closed(uv_handle_t *h)
{
    struct packet_engine *pe = h->data;

    if (--pe->closing_handles > 0)
        return;
    mnl_socket_close(pe->nl); /* after the poll handle let go of its descriptor */
    free(pe);
}

void packet_engine_close(struct packet_engine *pe)
{
    char script[512];
    const char *cmd[] = {"iptables-restore", "-w", "-n", NULL};

    if (!pe)
        return;
    /* rules first: from here on the kernel lets every packet through (--queue-bypass) */
    snprintf(script, sizeof script,
             "*mangle\n-D OUTPUT -j %s\n-D INPUT -j %s\n-F %s\n-F %s\n-X %s\n-X %s\nCOMMIT\n",
             pe->chain_out, pe->chain_in, pe->chain_out, pe->chain_in, pe->chain_out, pe->chain_in);
    iptables_run(cmd, script, NULL, 0);
    if (pe->v6_rules) {
        cmd[0] = "ip6tables-restore";
        iptables_run(cmd, script, NULL, 0);
    }
    struct packet_flow *list = pe->flows;

    pe->flows = NULL; /* a done_cb may come back here through the server's shutdown */
    for (struct packet_flow *fl = list, *next; fl; fl = next) {
        next = fl->next;
        flow_release(fl);
    }
    pe->closing_handles = 2;
    uv_close((uv_handle_t *)&pe->poll, on_engine_handle_closed);
    uv_close((uv_handle_t *)&pe->sweep, on_engine_handle_closed);
}

int packet_cleanup_all(char *report, size_t reportlen, char *err, size_t errlen)
{
    int r = 0;

    report[0] = '\0';
    if (!iptables_have_cap_net_admin()) {
        snprintf(err, errlen, "--cleanup needs CAP_NET_ADMIN (run as root)");
        return UV_EPERM;
    }
    if (iptables_have_tool("iptables-restore") && iptables_have_tool("iptables-save"))
        r = iptables_remove_chains(false, "mangle", true, report, reportlen, err, errlen);
    /* IPv6 too even when IPv4 failed: leave as little behind as possible */
    if (r == 0 && iptables_have_tool("ip6tables-restore") && iptables_have_tool("ip6tables-save"))
        r = iptables_remove_chains(true, "mangle", true, report, reportlen, err, errlen);
    else if (iptables_have_tool("ip6tables-restore") && iptables_have_tool("ip6tables-save"))
        iptables_remove_chains(true, "mangle", true, report, reportlen, NULL, 0);
    return r;
}
