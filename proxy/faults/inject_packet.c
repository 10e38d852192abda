/* Packet faults: mark the socket, register the flow with the packet engine, report its
 * segments. */
#include <assert.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/relay/bufpool.h"
#include "proxy/relay/conn.h"
#include "proxy/faults/inject-t.h"
#include "proxy/relay/listener.h"
#include "proxy/log.h"
#include "proxy/faults/packet.h"
#include "proxy/relay/relay.h"
#include "proxy/relay/timeline.h"
#include "rules/fault.h"

/* --- packet faults: mark the socket, register the flow, report its segments --- */

enum leg_id inject__packet_leg(const struct fault *f)
{
    return f->leg == FAULT_LEG_CLIENT ? LEG_CLIENT : LEG_SERVER;
}

static void packet_on_event(void *ctx, const struct packet_event *ev)
{
    struct fault_rt *ft = ctx;
    struct conn *c = ft->c;
    enum leg_id l = inject__packet_leg(ft->f);
    /* stamped by the engine when it read the segment, on the connection's clock */
    double t = (double)(ev->t_ns - c->t0_ns) / 1e6;
    char text[200];

    snprintf(text, sizeof text, "%s %s%s [%s] Seq=%u Ack=%u from %s%s",
             ev->dropped ? "dropped" : "passed", ev->what, ev->nth > 1 ? " (retransmission)" : "",
             ev->flags, ev->seq_rel, ev->ack_rel, ev->from_finwait ? "finwait" : leg_name(l),
             ev->nth > 1 ? "" : "");
    if (LOG_ENABLED(LOG_LEVEL_INFO)) {
        struct log_kv kv[] = {
            {"fault", ft->f->name, 0},
            {"verdict", ev->dropped ? "drop" : "pass", 0},
            {"segment", ev->what, 0},
            {"flags", ev->flags, 0},
            {"seq", NULL, ev->seq_rel},
            {"ack", NULL, ev->ack_rel},
            {"from", ev->from_finwait ? "finwait" : "peer", 0},
            {"nth", NULL, ev->nth},
        };
        log__conn(LOG_LEVEL_INFO, conn_proxy_name(c), c->id, t, "packet", leg_name(l), NULL, text,
                  kv, 8);
    }
    if (c->tl)
        timeline_add(&c->tl, t, TL_PACKET, l, !ev->from_finwait, 0, NULL, text);
}

static void packet_on_done(void *ctx)
{
    struct fault_rt *ft = ctx;
    enum leg_id l = inject__packet_leg(ft->f);

    ft->flow[l] = NULL;
    conn__release(ft->c);
}

/*
 * A server leg is watched before it connects, so that no segment can pass before the flow is
 * known: bind it to the source address the kernel would pick (asked with a UDP socket, which
 * sends nothing) and an ephemeral port, and give the engine the server's address.
 */
static int bind_source(int fd, const struct sockaddr *peer)
{
    struct sockaddr_storage src;
    socklen_t len = sizeof src;
    socklen_t plen =
        peer->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    int u = socket(peer->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

    if (u < 0)
        return -errno;
    if (connect(u, peer, plen) != 0 || getsockname(u, (struct sockaddr *)&src, &len) != 0)
        r = -errno;
    close(u);
    if (r == 0) {
        if (src.ss_family == AF_INET)
            ((struct sockaddr_in *)&src)->sin_port = 0;
        else
            ((struct sockaddr_in6 *)&src)->sin6_port = 0;
        if (bind(fd, (struct sockaddr *)&src, len) != 0)
            r = -errno;
    }
    return r;
}

void inject__packet_register(struct fault_rt *ft, enum leg_id l, int fd,
                             const struct sockaddr *peer)
{
    struct conn *c = ft->c;
    struct packet_engine *pe = c->l->rc->pe;
    int r = 0;

    if (!pe || ft->flow[l])
        return;
    if (peer)
        r = bind_source(fd, peer);
    if (r == 0)
        r = packet_flow_add(pe, fd, peer, ft->f, packet_on_event, packet_on_done, ft, &ft->flow[l]);
    if (r < 0) {
        LOG(LOG_LEVEL_WARN, conn_proxy_name(c), "packet", "#%llu: cannot watch the %s leg: %s",
            (unsigned long long)c->id, leg_name(l), uv_strerror(r));
        return;
    }
    conn__hold(c); /* the flow may outlive the sockets: LAST_ACK and TIME_WAIT live on */
}

/*
 * A packet fault reaches an open connection only on a leg whose close has not started: its
 * FIN and final ACK are still to come, so the engine, which learns the sequence numbers from
 * the segments it sees and from TCP_INFO's counts (packet_flow_add), has all it judges. A
 * server leg still connecting is marked when its socket is made (inject_on_socket).
 */
const char *inject__packet_unreachable(const struct conn *c, const struct fault *f)
{
    enum leg_id l = inject__packet_leg(f);
    const struct leg *leg = &c->legs[l];

    if (!c->l->rc->pe)
        return "the packet engine is not running";
    if (leg->flags & (LEG_FIN_RECEIVED | LEG_SHUT_PENDING | LEG_FIN_SENT | LEG_DEAD))
        return l == LEG_CLIENT ? "the client leg's close has started"
                               : "the server leg's close has started";
    if (l == LEG_SERVER && !c->connected)
        return "the server leg is still connecting: its socket was made without the mark";
    return NULL;
}

static void packet_on_attach(struct fault_rt *ft)
{
    struct conn *c = ft->c;
    enum leg_id l = inject__packet_leg(ft->f);
    uint32_t mark = packet_engine_mark(c->l->rc->pe);
    uv_os_fd_t fd;

    if (uv_fileno((uv_handle_t *)&c->legs[l].tcp, &fd) != 0)
        return;
    /* from now on the leg's segments go through the queue; the flow is known before any of
     * them is judged (this runs in the loop, which also reads the queue) */
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
        LOG(LOG_LEVEL_WARN, conn_proxy_name(c), "packet", "#%llu: SO_MARK on the %s leg: %m",
            (unsigned long long)c->id, leg_name(l));
        return;
    }
    inject__packet_register(ft, l, fd, NULL);
}

static void packet_describe(const struct fault_rt *ft, char *buf, size_t len)
{
    enum leg_id l = inject__packet_leg(ft->f);

    snprintf(buf, len,
             ft->flow[l] ? "watching the %s leg's segments" : "armed: the %s leg is not watched",
             leg_name(l));
}

const struct fault_ops inject__packet_ops = {.on_attach = packet_on_attach,
                                             .describe = packet_describe};
