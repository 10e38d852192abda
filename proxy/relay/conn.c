/*
 * A proxied connection and its relay.
 *
 * Each direction is relayed on its own: bytes read from a source are written to its
 * destination; the source's FIN becomes a FIN (uv_shutdown) on the destination once the
 * bytes before it are written; the other direction keeps flowing until its own FIN. A
 * reset on either leg is passed on as a reset on the other. The connection is closed when
 * both legs are finished (both FINs, or a reset) and freed when every handle, request and
 * packet flow it started has called back. How a reset is relayed is the table above
 * conn__peer_reset(); a half-closed leg is watched for a late reset (hangup.c) and, with
 * half_close_probe, probed (watch_half_closed()).
 */
#include "proxy/relay/conn.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "proxy/relay/ackwait.h"
#include "proxy/relay/bufpool.h"
#include "proxy/relay/dial.h"
#include "proxy/relay/hangup.h"
#include "proxy/relay/facts.h"
#include "proxy/faults/inject.h"
#include "proxy/relay/intercept.h"
#include "proxy/relay/listener.h"
#include "proxy/log.h"
#include "proxy/faults/packet.h"
#include "proxy/relay/resolve.h"
#include "proxy/relay/relay.h"
#include "proxy/relay/splice.h"
#include "proxy/stats.h"
#include "proxy/relay/tcpinfo.h"
#include "proxy/relay/timeline.h"
#include "rules/fault.h"

/* A write that did not complete at once: it keeps its buffer until libuv is done. */
struct wreq {
    uv_write_t req;
    struct buf *b;
    size_t len; /* bytes it carries: counted as delivered when it completes */
    struct wreq *next_free;
};

static struct wreq *wreq_pool;

static struct wreq *wreq_get(void)
{
    struct wreq *w = wreq_pool;

    if (w) {
        wreq_pool = w->next_free;
        return w;
    }
    return malloc(sizeof *w);
}

static void wreq_put(struct wreq *w)
{
    w->next_free = wreq_pool;
    wreq_pool = w;
}

void conn__drain_pools(void)
{
    while (wreq_pool) {
        struct wreq *w = wreq_pool;
        wreq_pool = w->next_free;
        free(w);
    }
}

static const char *const leg_names[] = {"client", "server"};
static const char *const dir_names[] = {"upstream", "downstream"};

const char *leg_name(enum leg_id l)
{
    return leg_names[l];
}

const char *dir_name(enum dir d)
{
    return dir_names[d];
}

const char *conn_proxy_name(const struct conn *c)
{
    return c->p->name;
}

double conn_elapsed_ms(const struct conn *c)
{
    return (double)(uv_hrtime() - c->t0_ns) / 1e6;
}

static int leg_fd(struct conn *c, enum leg_id l)
{
    uv_os_fd_t fd;

    if (!c->legs[l].open || uv_fileno((uv_handle_t *)&c->legs[l].tcp, &fd) != 0)
        return -1;
    return fd;
}

/*
 * The kernel's state of leg l. A socket that sent its FIN first and then received the peer's
 * reads CLOSED through its fd: the kernel moved the connection to a TIME_WAIT socket of its
 * own. Say so, since that is the state on the wire.
 */
static const char *leg_state(struct conn *c, enum leg_id l)
{
    const char *st = tcpinfo_state(leg_fd(c, l));
    unsigned f = c->legs[l].flags;

    if (strcmp(st, "CLOSED") == 0 && (f & LEG_FIN_SENT) && (f & LEG_FIN_RECEIVED) &&
        c->legs[l].fin_sent_first)
        return "TIME_WAIT";
    return st;
}

const char *conn_leg_state(struct conn *c, enum leg_id l)
{
    return leg_state(c, l);
}

/*
 * The state of leg l at the event being recorded, from the leg's own flags: what finwait has
 * seen and done on it up to this event. The kernel's state (TCP_INFO) is read later than the
 * event happened on the wire and may already be past it: a client that sent its FIN before
 * finwait accepted it reads CLOSE_WAIT at "accepted"; a FIN followed at once by an RST reads
 * CLOSED at "fin_received". The kernel is asked only to choose between the two states the
 * flags leave open (has the peer acknowledged finwait's FIN yet).
 *
 *   flags (in the order they were set)   state         or, when the kernel says so
 *   none, the leg established            ESTABLISHED
 *   none, the server leg not connected   CLOSED
 *   FIN_RECEIVED                         CLOSE_WAIT
 *   FIN_SENT                             FIN_WAIT1     FIN_WAIT2
 *   FIN_SENT, then FIN_RECEIVED          TIME_WAIT     CLOSING (finwait's FIN not acked yet)
 *   FIN_RECEIVED, then FIN_SENT          LAST_ACK      CLOSED (the peer acked finwait's FIN)
 *   RST_RECEIVED or RST_SENT             CLOSED
 */
static const char *leg_event_state(struct conn *c, enum leg_id l)
{
    const struct leg *g = &c->legs[l];
    unsigned f = g->flags & (LEG_FIN_RECEIVED | LEG_FIN_SENT | LEG_DEAD);
    const char *kernel;

    if (f & LEG_DEAD)
        return "CLOSED";
    if (f == 0)
        return l == LEG_SERVER && !c->connected ? "CLOSED" : "ESTABLISHED";
    if (f == LEG_FIN_RECEIVED)
        return "CLOSE_WAIT";
    kernel = tcpinfo_state(leg_fd(c, l));
    if (f == LEG_FIN_SENT)
        return strcmp(kernel, "FIN_WAIT2") == 0 ? "FIN_WAIT2" : "FIN_WAIT1";
    if (g->fin_sent_first)
        return strcmp(kernel, "CLOSING") == 0 ? "CLOSING" : "TIME_WAIT";
    return strcmp(kernel, "CLOSED") == 0 ? "CLOSED" : "LAST_ACK";
}

int conn_leg_fd(struct conn *c, enum leg_id l)
{
    return leg_fd(c, l);
}

static bool want_events(const struct conn *c)
{
    return LOG_ENABLED(LOG_LEVEL_INFO) || c->tl;
}

/*
 * Log one event of c (and record it in the timeline) with the kernel's TCP state of leg l.
 * `leg` < 0: the event concerns the connection as a whole.
 */
static void conn_event(struct conn *c, int leg, const char *event, enum tl_kind k, bool inbound,
                       uint64_t bytes, const struct log_kv *kv, int nkv, const char *text)
{
    const char *state;
    double t;

    /* Segments of a packet fault's flow that the engine has not judged yet came before this
     * event (a FIN shutdown() just sent waits in the queue): their events first. */
    if (c->inj && c->l->rc->pe)
        packet_engine_poll(c->l->rc->pe);
    state = leg >= 0 ? leg_event_state(c, (enum leg_id)leg) : NULL;
    t = conn_elapsed_ms(c);

    if (LOG_ENABLED(LOG_LEVEL_INFO))
        log__conn(LOG_LEVEL_INFO, conn_proxy_name(c), c->id, t, event,
                  leg >= 0 ? leg_names[leg] : NULL, state, text, kv, nkv);
    if (c->tl)
        timeline_add_event(&c->tl, t, k, leg >= 0 ? (enum leg_id)leg : LEG_CLIENT, inbound, bytes,
                           state, text, event, kv, nkv);
}

/* When leg g's flag f is first set: the times GET /connections shows. */
static void leg_stamp(struct leg *g, enum leg_flag f)
{
    uint64_t now = uv_hrtime();

    if (f != LEG_SHUT_PENDING)
        g->state_ns = now;
    if (f == LEG_FIN_RECEIVED)
        g->fin_received_ns = now;
    if (f == LEG_FIN_SENT)
        g->fin_sent_ns = now;
}

/*
 * The one place a leg's half-close state changes: sets the flag and logs the event.
 */
static void conn__leg_set(struct conn *c, enum leg_id l, enum leg_flag f, const char *why)
{
    static const struct {
        enum leg_flag flag;
        const char *event;
        const char *text;
        enum tl_kind kind;
        bool inbound;
    } ev[] = {
        {LEG_FIN_RECEIVED, "fin_received", "FIN received", TL_FIN, true},
        {LEG_SHUT_PENDING, "fin_queued", "FIN queued after pending data", TL_NOTE, false},
        {LEG_FIN_SENT, "fin_sent", "FIN sent", TL_FIN, false},
        {LEG_RST_RECEIVED, "rst_received", "RST received", TL_RST, true},
        {LEG_RST_SENT, "rst_sent", "RST sent", TL_RST, false},
    };
    char text[160];

    if (f == LEG_FIN_SENT && !(c->legs[l].flags & LEG_FIN_RECEIVED))
        c->legs[l].fin_sent_first = true;
    if (!(c->legs[l].flags & f))
        leg_stamp(&c->legs[l], f);
    if (!(c->legs[l].flags & f)) {
        struct proxy_stats *st = c->stats;
        st->fin_received[l] += f == LEG_FIN_RECEIVED;
        st->fin_sent[l] += f == LEG_FIN_SENT;
        st->rst_received[l] += f == LEG_RST_RECEIVED;
        st->rst_sent[l] += f == LEG_RST_SENT;
        facts_leg(c, l, f);
    }
    c->legs[l].flags |= f;
    if (f == LEG_SHUT_PENDING || !want_events(c))
        return;
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
        if (ev[i].flag != f)
            continue;
        if (why)
            snprintf(text, sizeof text, "%s (%s)", ev[i].text, why);
        else
            snprintf(text, sizeof text, "%s", ev[i].text);
        conn_event(c, (int)l, ev[i].event, ev[i].kind, ev[i].inbound, 0, NULL, 0, text);
        return;
    }
}

static void fault_event(struct conn *c, const char *fault_name, enum leg_id l, bool acted,
                        const char *fmt, va_list ap)
{
    char text[200];
    int n;
    struct log_kv kv[] = {{"fault", fault_name, 0}};

    if (acted)
        facts_fault(c, fault_name);
    if (!want_events(c))
        return;
    n = snprintf(text, sizeof text, "fault %s: ", fault_name);
    /* a name is as long as its author made it: a long one leaves no room for the rest */
    if (n < 0 || (size_t)n >= sizeof text)
        n = (int)sizeof text - 1;
    vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
    conn_event(c, (int)l, "fault", TL_FAULT, false, 0, kv, 1, text);
}

void conn__fault_event(struct conn *c, const char *fault_name, enum leg_id l, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fault_event(c, fault_name, l, true, fmt, ap);
    va_end(ap);
}

void conn__fault_note(struct conn *c, const char *fault_name, enum leg_id l, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fault_event(c, fault_name, l, false, fmt, ap);
    va_end(ap);
}

void conn__hold(struct conn *c)
{
    c->pending++;
}

static void conn_free(struct conn *c)
{
    struct relay_ctx *rc = c->l->rc;
    char title[200];

    facts_end(c);
    if (c->tl && c->tl_print) {
        /* the time of the last event, not of this call: packet flows may keep c a while
         * after its close is over (the engine lets a flow go at its next sweep) */
        snprintf(title, sizeof title, "%s#%llu  client <-> finwait <-> server  (%.3f ms)",
                 conn_proxy_name(c), (unsigned long long)c->id, timeline_end_ms(c->tl));
        if (log_format_get() == LOG_FORMAT_JSON)
            timeline_print_json(c->tl, log_out(), title, conn_proxy_name(c), c->id,
                                conn_elapsed_ms(c));
        else
            timeline_print(c->tl, log_out(), title);
    }
    timeline_free(c->tl);
    inject_free(c);
    /* from here on its bytes are its proxy's: it leaves the list a scrape reads */
    stats_conn_gone(c->stats, c->dirs);
    stats_unref(c->stats);
    rc->hooks->conn_gone(rc, c);
    listener_unref(c->l);
    cfg_gen_unref(c->gen);
    free(c);
}

int conn__release(struct conn *c)
{
    assert(c->pending > 0);
    if (--c->pending > 0)
        return 0;
    conn_free(c);
    return 1;
}

static void on_handle_closed(uv_handle_t *h)
{
    conn__release(h->data);
}

static void leg_close(struct conn *c, enum leg_id l)
{
    if (!c->legs[l].open)
        return;
    /* a splicer holds dups of both legs' sockets: it must let go for the close to happen */
    splice_stop(c, DIR_UPSTREAM);
    splice_stop(c, DIR_DOWNSTREAM);
    hangup_stop(c, l);
    c->legs[l].open = false;
    c->legs[l].reading = false;
    c->pending++;
    uv_close((uv_handle_t *)&c->legs[l].tcp, on_handle_closed);
}

static void connect_cancel(struct conn *c);

/* Close every handle of c; c is freed when the last one has called back. */
static void conn_close(struct conn *c)
{
    struct log_kv kv[] = {
        {"bytes_up", NULL, c->dirs[DIR_UPSTREAM].bytes_out},
        {"bytes_down", NULL, c->dirs[DIR_DOWNSTREAM].bytes_out},
    };

    if (c->closing)
        return;
    c->closing = true;
    if (want_events(c))
        conn_event(c, -1, "closed", TL_NOTE, false, 0, kv, 2, "connection closed");
    connect_cancel(c);
    inject_close(c);
    ackwait_stop(c);
    leg_close(c, LEG_CLIENT);
    leg_close(c, LEG_SERVER);
    c->pending++;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    /* the reference conn_accept took: nothing may free c before this function is done */
    conn__release(c);
}

static bool leg_finished(const struct conn *c, enum leg_id l)
{
    const struct leg *g = &c->legs[l];

    if (g->flags & LEG_DEAD)
        return true;
    return (g->flags & LEG_FIN_RECEIVED) && (g->flags & LEG_FIN_SENT);
}

/*
 * Once both peers have sent their FIN the connection is over, whatever a fault withholds: a
 * FIN held "forever" (delay_fin forever, blackhole, timeout) goes out now, after the bytes
 * already queued for its peer. That peer closed its side itself, so it sees the ordinary end
 * of such a connection (EOF, its socket in TIME_WAIT) rather than a reset; finwait's leg does
 * not sit in CLOSE_WAIT holding its descriptor until shutdown.
 */
static void release_held_fins(struct conn *c)
{
    if (!(c->legs[LEG_CLIENT].flags & LEG_FIN_RECEIVED) ||
        !(c->legs[LEG_SERVER].flags & LEG_FIN_RECEIVED))
        return;
    for (int l = 0; l < 2 && !c->closing; l++) {
        struct leg *g = &c->legs[l];

        if (!g->fin_held_forever)
            continue;
        g->fin_held_forever = false;
        if (g->flags & (LEG_SHUT_PENDING | LEG_FIN_SENT | LEG_DEAD))
            continue;
        if (want_events(c))
            conn_event(c, l, "fin_released", TL_NOTE, false, 0, NULL, 0,
                       "both peers have closed: sending the FIN held from this peer");
        conn__shut_leg(c, (enum leg_id)l);
    }
}

void conn__maybe_finish(struct conn *c)
{
    if (c->closing)
        return;
    release_held_fins(c);
    if (!c->closing && leg_finished(c, LEG_CLIENT) && leg_finished(c, LEG_SERVER))
        conn_close(c);
}

/* --- reading --- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *ub)
{
    struct buf *b = buf_get();

    (void)hint;
    ub->base = b ? b->data : NULL;
    ub->len = b ? BUF_SIZE : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *ub);

static void leg_read_start(struct conn *c, enum leg_id l)
{
    struct leg *g = &c->legs[l];
    int r;

    if (g->reading || !g->open || (g->flags & (LEG_FIN_RECEIVED | LEG_DEAD)) || c->closing ||
        c->ackwait)
        return;
    r = uv_read_start((uv_stream_t *)&g->tcp, on_alloc, on_read);
    if (r == 0)
        g->reading = true;
}

static void leg_read_stop(struct conn *c, enum leg_id l)
{
    struct leg *g = &c->legs[l];

    if (!g->reading || !g->open)
        return;
    uv_read_stop((uv_stream_t *)&g->tcp);
    g->reading = false;
}

void conn__pause(struct conn *c, enum dir d, enum pause_reason why)
{
    unsigned was = c->dirs[d].paused;

    c->dirs[d].paused |= why;
    if (!was && !c->legs[dir_src(d)].discard)
        leg_read_stop(c, dir_src(d));
}

void conn__resume(struct conn *c, enum dir d, enum pause_reason why)
{
    c->dirs[d].paused &= ~(unsigned)why;
    if (!c->dirs[d].paused)
        leg_read_start(c, dir_src(d));
}

/* Keepalive probes to a half-closed peer that does not answer before the leg is reset: Linux's
 * own default (tcp_keepalive_probes). */
#define HALF_CLOSE_PROBES 9

/*
 * The peer of leg l sent its FIN and finwait's own FIN on l has not gone: finwait no longer
 * reads l, so an RST from that peer is watched for (hangup.c). With half_close_probe, the
 * kernel also probes that peer once l has been quiet that long (TCP keepalive, every
 * half_close_probe, HALF_CLOSE_PROBES unanswered ones at most): a peer whose socket is still
 * open answers, so a client waiting for its answer in FIN_WAIT2 is never cut; a peer whose
 * kernel has forgotten the connection (its socket closed, then tcp_fin_timeout passed)
 * answers with an RST, relayed as any other. Connected directly, the other peer would learn
 * of it at its next write; through finwait it learns at the probe, and finwait lets go of both
 * sockets instead of holding them for as long as the other peer keeps its own.
 */
static void watch_half_closed(struct conn *c, enum leg_id l)
{
    uint64_t probe_s = (c->p->half_close_probe_ms + 999) / 1000;
    int fd = leg_fd(c, l);

    if (c->legs[l].flags & (LEG_SHUT_PENDING | LEG_FIN_SENT | LEG_DEAD) || fd < 0)
        return;
    if (hangup_watch(c, l) < 0)
        LOG(LOG_LEVEL_WARN, conn_proxy_name(c), "hangup_watch",
            "#%llu: cannot watch the %s leg for a reset after its FIN", (unsigned long long)c->id,
            leg_name(l));
    if (probe_s > 0)
        tcpinfo_keepalive(fd, (unsigned)probe_s, (unsigned)probe_s, HALF_CLOSE_PROBES);
}

static void on_fin_received(struct conn *c, enum dir d)
{
    enum leg_id src = dir_src(d);

    c->legs[src].reading = false; /* libuv stops reading at EOF */
    conn__leg_set(c, src, LEG_FIN_RECEIVED, NULL);
    watch_half_closed(c, src);
    if (c->legs[src].discard) {
        conn__maybe_finish(c);
        return;
    }
    if (c->inj && inject_on_fin(c, d)) {
        conn__maybe_finish(c);
        return;
    }
    conn__relay_fin(c, d);
}

/*
 * A read that filled a whole buffer means a bulk transfer: move the rest of it with
 * splice(2), unless a fault may have to see or hold its bytes (any fault on the
 * connection: keep it simple and exact), or bytes are still queued for the destination
 * (they must go first).
 */
static void maybe_splice(struct conn *c, enum dir d)
{
    enum leg_id src = dir_src(d), dst = dir_dst(d);

    if (inject_busy(c, d) || c->closing || c->splice[d] || !c->legs[src].reading ||
        c->legs[src].discard || c->legs[dst].tcp.write_queue_size > 0 ||
        (c->legs[dst].flags & (LEG_SHUT_PENDING | LEG_FIN_SENT | LEG_DEAD)))
        return;
    leg_read_stop(c, src);
    if (splice_start(c, d) != 0) {
        leg_read_start(c, src); /* stay on the copying path */
        return;
    }
    LOG(LOG_LEVEL_DEBUG, conn_proxy_name(c), "splice", "#%llu: %s bytes move by splice(2)",
        (unsigned long long)c->id, dir_name(d));
}

void conn__unsplice(struct conn *c, enum dir d)
{
    if (!c->splice[d] || c->closing)
        return;
    LOG(LOG_LEVEL_DEBUG, conn_proxy_name(c), "splice", "#%llu: %s bytes leave splice(2)",
        (unsigned long long)c->id, dir_name(d));
    if (splice_unsplice(c, d)) {
        on_fin_received(c, d);
        return;
    }
    if (!c->closing && !c->dirs[d].paused)
        leg_read_start(c, dir_src(d));
}

/* The peer of leg l sent its FIN and finwait read up to it; a reset that came after the FIN
 * waits behind it as the socket's error (a read gives 0 once the FIN is in): FIN, then RST. */
static void fin_then_maybe_rst(struct conn *c, enum leg_id l)
{
    int err = tcpinfo_sock_error(leg_fd(c, l));

    on_fin_received(c, leg_out_dir(l));
    if (err && !c->closing)
        conn__peer_reset(c, l, err);
}

void conn__splice_fin(struct conn *c, enum dir d)
{
    fin_then_maybe_rst(c, dir_src(d));
}

/* n bytes read from leg l: to the faults, then to the other leg. May close c. */
static void relay_read(struct conn *c, enum leg_id l, struct buf *b, size_t n)
{
    enum dir d = leg_out_dir(l);

    c->dirs[d].bytes_in += n;
    c->last_activity_ms = uv_now(c->timer.loop);
    c->last_byte_ns = uv_hrtime();
    if (c->legs[l].discard) {
        buf_unref(b);
        return;
    }
    if (c->inj && inject_on_data(c, d, b, n))
        return;
    conn__write(c, d, b, 0, n);
}

/*
 * Read what l's socket still holds once libuv stopped (its stream ended, or its peer reset)
 * and relay it as if libuv had read it. Returns 0 at the end of the stream (a FIN, or a reset
 * whose error was already taken), the kernel's error (a reset without FIN: its bytes came
 * first), or UV_EAGAIN when nothing more is there yet. May close c.
 */
static int drain_leg(struct conn *c, enum leg_id l)
{
    for (;;) {
        int fd = leg_fd(c, l);
        struct buf *b;
        ssize_t n;

        if (fd < 0 || c->closing || (c->legs[l].flags & LEG_DEAD))
            return 0;
        b = buf_get();
        if (!b)
            return UV_ENOBUFS;
        do
            n = recv(fd, b->data, BUF_SIZE, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
            int err = n < 0 ? -errno : 0;
            buf_unref(b);
            return err == -EWOULDBLOCK ? UV_EAGAIN : err;
        }
        relay_read(c, l, b, (size_t)n);
    }
}

/*
 * libuv saw the end of l's stream: its peer's FIN, or a reset (libuv turns a hang-up after a
 * short read into EOF without reading the error). What is left is read, then the kernel says
 * which: recv() gives the error of a reset that came without a FIN; after a FIN it gives 0,
 * and a reset that followed the FIN waits as SO_ERROR.
 */
static void leg_ended(struct conn *c, enum leg_id l)
{
    int r = drain_leg(c, l);

    if (c->closing || (c->legs[l].flags & LEG_DEAD))
        return;
    if (r < 0 && r != UV_EAGAIN && r != UV_ENOBUFS) {
        conn__peer_reset(c, l, r);
        return;
    }
    fin_then_maybe_rst(c, l);
}

/*
 * Acknowledge what was just read at once when finwait has bytes for that same peer that its
 * kernel cannot send yet (the peer's window is full): a direct peer in that place, blocked on
 * its own write, acknowledges what it receives at once (the oracle: a server that answers in
 * small chunks and closes over an upload it stopped reading loses none of them directly), while
 * finwait's leg, taken by Linux for interactive, delayed its ACK 40 ms; the server's Nagle held
 * its next chunk for it and its close's RST destroyed that chunk (seed 1000 cases 538, 607, 837
 * and 891: through finwait in every run, directly in none). Otherwise the kernel's own choice
 * stands, as a direct peer's does: acknowledging everything at once made finwait deliver what a
 * direct client, delaying its ACK, never gets (case 886). TCP_QUICKACK is one-shot: set after
 * each read that needs it.
 */
static void ack_if_blocked(uv_stream_t *s)
{
    uv_os_fd_t fd;
    int one = 1;

    if (uv_fileno((uv_handle_t *)s, &fd) == 0 && tcpinfo_unsent(fd) > 0)
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *ub)
{
    struct conn *c = s->data;
    enum leg_id l = (uv_tcp_t *)s == &c->legs[LEG_CLIENT].tcp ? LEG_CLIENT : LEG_SERVER;
    struct buf *b = ub->base ? buf_from_data(ub->base) : NULL;

    if (nread <= 0) {
        if (b)
            buf_unref(b);
        if (nread == 0 || c->closing)
            return; /* EAGAIN */
        if (nread == UV_EOF) {
            c->legs[l].reading = false; /* libuv stops reading at EOF */
            leg_ended(c, l);
        } else if (nread != UV_ENOBUFS) {
            conn__peer_reset(c, l, (int)nread);
        }
        return;
    }
    ack_if_blocked(s);
    if (l == LEG_SERVER)
        facts_server_read(c);
    relay_read(c, l, b, (size_t)nread);
    if (nread == BUF_SIZE && !c->closing)
        maybe_splice(c, leg_out_dir(l));
}

/* --- writing --- */

/* A burst of d's bytes as a log line of its own, at debug: the JSON log carries what the
 * timeline draws, each burst with its own time. `why`: it was dropped, for that reason. */
static void log_burst(struct conn *c, enum dir d, size_t len, const char *why, double t_ms)
{
    struct log_kv kv[] = {{"direction", dir_names[d], 0}, {"bytes", NULL, len}};
    char text[160];

    if (!LOG_ENABLED(LOG_LEVEL_DEBUG) || len == 0)
        return;
    snprintf(text, sizeof text, "%zu bytes %s", len, why ? why : "relayed");
    log__conn(LOG_LEVEL_DEBUG, conn_proxy_name(c), c->id, t_ms, why ? "dropped" : "data",
              leg_names[dir_src(d)], NULL, text, kv, 2);
}

/*
 * len bytes of d were handed to the destination's kernel (or, not_delivered, never will be).
 * The timeline draws and the log counts only the former: bytes a fault or a FIN stopped at
 * finwait are drawn as stopped there, with the reason. at_ns: when the write that handed them
 * over began, for a write that returns at once, so a burst is never stamped after its
 * destination could read it (preempted between its write and the clock, a relay under ASan
 * stamped one 1.8 ms late).
 */
static void delivered_at(struct conn *c, enum dir d, size_t len, uint64_t at_ns)
{
    double t = 0;

    c->dirs[d].bytes_out += len;
    if (len > 0) {
        c->last_byte_ns = at_ns;
        t = (double)(c->last_byte_ns - c->t0_ns) / 1e6;
    }
    log_burst(c, d, len, NULL, t);
    facts_data(c, d, len, t);
    if (c->tl && len > 0)
        timeline_add(&c->tl, t, TL_DATA, dir_src(d), true, len, NULL, NULL);
}

void conn__delivered(struct conn *c, enum dir d, size_t len)
{
    delivered_at(c, d, len, uv_hrtime());
}

static void not_delivered(struct conn *c, enum dir d, size_t len, bool after_fin)
{
    char text[80];

    facts_undelivered(c, d, len);
    if ((!c->tl && !LOG_ENABLED(LOG_LEVEL_DEBUG)) || len == 0)
        return;
    snprintf(text, sizeof text,
             after_fin ? "not relayed: FIN already sent to the %s"
                       : "not relayed: the connection to the %s ended first",
             leg_name(dir_dst(d)));
    conn__dropped(c, d, len, text);
}

void conn__dropped(struct conn *c, enum dir d, size_t len, const char *why)
{
    double t;

    if ((!c->tl && !LOG_ENABLED(LOG_LEVEL_DEBUG)) || len == 0)
        return;
    t = conn_elapsed_ms(c);
    log_burst(c, d, len, why ? why : "dropped by a fault", t);
    if (c->tl)
        timeline_add(&c->tl, t, TL_DROP, dir_src(d), true, len, NULL, why);
}

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    uv_stream_t *s = req->handle;
    struct conn *c = s->data;
    enum leg_id dst = (uv_tcp_t *)s == &c->legs[LEG_CLIENT].tcp ? LEG_CLIENT : LEG_SERVER;
    enum dir d = leg_out_dir(dst) == DIR_UPSTREAM ? DIR_DOWNSTREAM : DIR_UPSTREAM;

    if (status == 0)
        conn__delivered(c, d, w->len);
    else
        not_delivered(c, d, w->len, false);
    buf_unref(w->b);
    wreq_put(w);
    if (c->closing)
        return;
    if (status < 0) {
        conn__peer_reset(c, dst, status);
        return;
    }
    if ((c->dirs[d].paused & PAUSE_BACKPRESSURE) && s->write_queue_size <= CONN_WRITE_QUEUE_LIMIT)
        conn__resume(c, d, PAUSE_BACKPRESSURE);
}

void conn__write(struct conn *c, enum dir d, struct buf *b, size_t off, size_t len)
{
    struct leg *dst = &c->legs[dir_dst(d)];
    uv_stream_t *s = (uv_stream_t *)&dst->tcp;
    uv_buf_t ub;
    struct wreq *w;
    int r;

    /* Nothing can be written after our FIN or a reset: what a fault lets through late is
     * dropped, as the kernel would. */
    if (c->closing || (dst->flags & (LEG_SHUT_PENDING | LEG_FIN_SENT | LEG_DEAD))) {
        not_delivered(c, d, len, !c->closing && !(dst->flags & LEG_DEAD));
        buf_unref(b);
        return;
    }
    ub = uv_buf_init(b->data + off, (unsigned)len);
    if (s->write_queue_size == 0) {
        uint64_t before = uv_hrtime();
        r = uv_try_write(s, &ub, 1);
        if (r == (int)len) {
            delivered_at(c, d, len, before);
            buf_unref(b);
            return;
        }
        if (r < 0 && r != UV_EAGAIN) {
            not_delivered(c, d, len, false);
            buf_unref(b);
            conn__peer_reset(c, dir_dst(d), r);
            return;
        }
        if (r > 0) {
            delivered_at(c, d, (size_t)r, before);
            ub.base += r;
            ub.len -= (unsigned)r;
        }
    }
    w = wreq_get();
    if (!w) {
        buf_unref(b);
        conn_abort(c, "out of memory");
        return;
    }
    w->b = b;
    w->len = ub.len;
    r = uv_write(&w->req, s, &ub, 1, on_write);
    if (r < 0) {
        not_delivered(c, d, ub.len, false);
        buf_unref(b);
        wreq_put(w);
        conn__peer_reset(c, dir_dst(d), r);
        return;
    }
    if (s->write_queue_size > CONN_WRITE_QUEUE_LIMIT)
        conn__pause(c, d, PAUSE_BACKPRESSURE);
}

/* --- FIN and RST --- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct conn *c = req->handle->data;
    enum leg_id l = req == &c->legs[LEG_CLIENT].shut ? LEG_CLIENT : LEG_SERVER;

    if (status == UV_ECANCELED || c->closing)
        return;
    if (status < 0) {
        conn__peer_reset(c, l, status);
        return;
    }
    conn__leg_set(c, l, LEG_FIN_SENT, NULL);
    hangup_stop(c, l); /* the leg is finished: an RST now changes nothing */
    conn__maybe_finish(c);
}

void conn__shut_leg(struct conn *c, enum leg_id l)
{
    struct leg *g = &c->legs[l];
    int r;

    if (c->closing || (g->flags & (LEG_SHUT_PENDING | LEG_FIN_SENT | LEG_DEAD)))
        return;
    r = uv_shutdown(&g->shut, (uv_stream_t *)&g->tcp, on_shutdown);
    if (r < 0) {
        conn__peer_reset(c, l, r);
        return;
    }
    conn__leg_set(c, l, LEG_SHUT_PENDING, NULL);
}

void conn__relay_fin(struct conn *c, enum dir d)
{
    conn__shut_leg(c, dir_dst(d));
}

/* The direction whose bytes are written on leg l. */
static enum dir dir_into(enum leg_id l)
{
    return l == LEG_CLIENT ? DIR_DOWNSTREAM : DIR_UPSTREAM;
}

/*
 * What leg l's kernel accepted from finwait and never delivered: lost when l is reset. When
 * its peer reset, what that peer never acknowledged (SIOCOUTQ); when finwait resets it
 * (SO_LINGER {1,0} discards the send queue), what was never sent (SIOCOUTQNSD): what was sent
 * arrived ahead of the RST and stays readable at the peer. `bytes` and the diagram take it
 * back.
 */
static void count_lost(struct conn *c, enum leg_id l, bool own_reset)
{
    enum dir d = dir_into(l);
    int64_t q = own_reset ? tcpinfo_unsent(leg_fd(c, l)) : tcpinfo_outq(leg_fd(c, l));
    char text[120];

    if (q > 0 && (c->legs[l].flags & LEG_FIN_SENT) && !own_reset)
        q--; /* the FIN takes a sequence number of its own (sent: not in the unsent count) */
    if (q <= 0)
        return;
    if ((uint64_t)q > c->dirs[d].bytes_out)
        q = (int64_t)c->dirs[d].bytes_out;
    c->dirs[d].bytes_out -= (uint64_t)q;
    if (c->tl) {
        timeline_retract(c->tl, dir_src(d), (uint64_t)q);
        snprintf(text, sizeof text,
                 own_reset ? "not delivered: still unsent to the %s when finwait reset it"
                           : "not delivered: the %s's kernel never acknowledged it",
                 leg_name(l));
        timeline_add(&c->tl, conn_elapsed_ms(c), TL_DROP, dir_src(d), true, (uint64_t)q, NULL,
                     text);
    }
}

void conn__reset_leg(struct conn *c, enum leg_id l, const char *why)
{
    struct leg *g = &c->legs[l];
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int fd = leg_fd(c, l);

    if (g->flags & LEG_DEAD || fd < 0)
        return;
    /* uv_tcp_close_reset() refuses while a shutdown is pending; the option itself does not
     * care. Closing now sends the RST now, not when the other leg is done. */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    count_lost(c, l, true);
    leg_read_stop(c, l);
    conn__leg_set(c, l, LEG_RST_SENT, why);
    leg_close(c, l);
}

void conn__abandon_server(struct conn *c, const char *why)
{
    struct leg *g = &c->legs[LEG_SERVER];

    if (c->connected) {
        conn__reset_leg(c, LEG_SERVER, why);
        return;
    }
    uv_timer_stop(&c->timer);
    connect_cancel(c);
    /* A connect in progress is cancelled by the close; no RST is owed to a server that never
     * got the connection. */
    g->flags |= LEG_RST_SENT;
    leg_close(c, LEG_SERVER);
}

void conn__discard(struct conn *c, enum leg_id l)
{
    c->legs[l].discard = true;
    leg_read_start(c, l);
}

/*
 * Resets. What each peer sees through finwait is what it would see connected directly.
 *
 *   the peer of leg L ...              finwait ...                         the other peer sees
 *   ---------------------------------  ----------------------------------  --------------------
 *   resets: a read from L fails        reads what L's socket still holds   the bytes sent before
 *   (ECONNRESET), a write or FIN to    (Linux keeps what came before an    the RST, then
 *   it fails (ECONNRESET, EPIPE)       RST readable; spliced bytes in the  ECONNRESET
 *                                      pipe first) and writes it on;
 *                                      waits until the kernel sent all of
 *                                      it to the other peer (ackwait.c:
 *                                      SIOCOUTQNSD 0; gives up after
 *                                      ACKWAIT_STALL_MS without
 *                                      progress); then resets the other
 *                                      leg (SO_LINGER {1,0}, close)
 *   sends its FIN, then resets (EOF    the same, with the FIN relayed      the bytes, EOF, then
 *   with SO_ERROR pending; after a     after the bytes and before the      EPIPE/ECONNRESET at
 *   failed write: the kernel counted   RST                                 its next call
 *   a FIN received)
 *   resets after its FIN, while        notices at once (hangup.c: EPOLLERR as in the first row,
 *   finwait no longer reads L          on a dup of the socket), then as    at once
 *                                      in the first row
 *   resets while the other leg is      closes the other leg normally: no   nothing new: its
 *   finished (both FINs) or not        RST is owed, its kernel delivers    connection is over (or
 *   connected yet                      what it holds (or the connect is    never began)
 *                                      cancelled)
 *   resets while finwait waits for     closes: nothing is owed any more    -
 *   the other peer's acknowledgement
 *
 * What finwait had written toward the resetting peer that its kernel never acknowledged is
 * lost, as it would be directly: `bytes` and the diagram take it back (count_lost(): the
 * reset socket's SIOCOUTQ, which the kernel keeps). The reason logged is the kernel's, the
 * errno of the failing call or the socket's SO_ERROR; libuv's UV_EBADF for EPOLLERR is never
 * passed on as one. Meanwhile the other peer is no longer read: what it sends can go nowhere.
 * A fault that resets (reset, reset_peer, idle_timeout, a shutdown) resets at once, that is
 * the fault; bytes a shaping fault still holds are not waited for.
 */
void conn__peer_reset(struct conn *c, enum leg_id l, int err)
{
    enum leg_id other = l == LEG_CLIENT ? LEG_SERVER : LEG_CLIENT;
    enum dir out = leg_out_dir(l);
    bool fin = false;

    if (c->closing || (c->legs[l].flags & LEG_DEAD))
        return;
    leg_read_stop(c, l);
    hangup_stop(c, l);
    if (c->ackwait) {
        count_lost(c, l, false);
        conn__leg_set(c, l, LEG_RST_RECEIVED, uv_err_name(err));
        conn_close(c);
        return;
    }
    /* what the peer sent before its RST is still owed to the other peer */
    if (c->connected && !(c->legs[l].flags & LEG_FIN_RECEIVED)) {
        fin = splice_unsplice(c, out);
        if (!fin && !c->closing && drain_leg(c, l) == 0 && !(c->legs[l].flags & LEG_DEAD))
            fin = tcpinfo_fin_received(leg_fd(c, l), c->dirs[out].bytes_in) == 1;
        if (c->closing || (c->legs[l].flags & LEG_DEAD))
            return;
        if (fin)
            on_fin_received(c, out);
        if (c->closing)
            return;
    }
    count_lost(c, l, false);
    conn__leg_set(c, l, LEG_RST_RECEIVED, uv_err_name(err));
    leg_close(c, l); /* its writes still queued are cancelled: never delivered */
    leg_read_stop(c, other);
    if (!c->connected || !c->legs[other].open || leg_finished(c, other)) {
        conn_close(c);
        return;
    }
    if (ackwait_start(c, other) < 0) {
        conn__reset_leg(c, other, "relaying the RST");
        conn_close(c);
    }
}

void conn__acked(struct conn *c, enum leg_id l, int status)
{
    ackwait_stop(c);
    if (c->closing)
        return;
    if (status == UV_ETIMEDOUT && want_events(c)) {
        char text[160];
        snprintf(text, sizeof text, "the %s took nothing more for %d ms: relaying the RST anyway",
                 leg_name(l), ACKWAIT_STALL_MS);
        conn_event(c, (int)l, "ack_wait_gave_up", TL_NOTE, false, 0, NULL, 0, text);
    }
    if (status < 0 && status != UV_ETIMEDOUT) {
        count_lost(c, l, false);
        conn__leg_set(c, l, LEG_RST_RECEIVED, uv_err_name(status));
    } else if (!leg_finished(c, l)) {
        conn__reset_leg(c, l, "relaying the RST");
    }
    conn_close(c);
}

void conn_abort(struct conn *c, const char *why)
{
    if (c->closing)
        return;
    for (int l = 0; l < 2; l++)
        if (c->legs[l].open && !leg_finished(c, (enum leg_id)l))
            conn__reset_leg(c, (enum leg_id)l, why);
    conn_close(c);
}

void conn_end(struct conn *c, const char *why)
{
    if (c->closing)
        return;
    if (want_events(c)) {
        struct log_kv kv[] = {{"why", why, 0}};
        conn_event(c, LEG_CLIENT, "ending", TL_NOTE, false, 0, kv, 1,
                   "ending: FIN to both peers after what is in flight");
    }
    for (int d = 0; d < 2 && !c->closing; d++)
        conn__unsplice(c, (enum dir)d);
    if (c->closing)
        return;
    if (!c->connected)
        conn__abandon_server(c, why);
    for (int l = 0; l < 2; l++) {
        conn__shut_leg(c, (enum leg_id)l);
        conn__discard(c, (enum leg_id)l);
    }
    conn__maybe_finish(c);
}

/* --- connecting to the server --- */

static void on_timer(uv_timer_t *t);

/* Nothing was relayed yet: the FIN goes out at once (shutdown() queues it behind nothing) and
 * the connection closes. False if the socket would not take it (then it is reset). */
static bool fin_client_now(struct conn *c, const char *why)
{
    int fd = leg_fd(c, LEG_CLIENT);

    if (fd < 0 || shutdown(fd, SHUT_WR) != 0)
        return false;
    conn__leg_set(c, LEG_CLIENT, LEG_FIN_SENT, why);
    conn_close(c);
    return true;
}

static void upstream_failed(struct conn *c, const char *what, int err)
{
    char why[160];

    snprintf(why, sizeof why, "%s: %s", what, err ? uv_strerror(err) : "timed out");
    stats_upstream_failed(c->stats, strcmp(what, "resolve") == 0, err);
    if (want_events(c)) {
        struct log_kv kv[] = {{"error", why, 0}};
        conn_event(c, LEG_SERVER, "upstream_failed", TL_NOTE, true, 0, kv, 1,
                   "upstream connection failed");
    }
    /* Toxiproxy's way (on_upstream_failure: close): the client's accepted connection ends
     * with a FIN, so a client that only dials sees a proxy that is up; finwait's own proxies
     * reset it, the stronger signal for a test of teardown */
    if (c->p->on_upstream_failure == ON_UPSTREAM_FAILURE_CLOSE && fin_client_now(c, why))
        return;
    conn__reset_leg(c, LEG_CLIENT, why);
    conn_close(c);
}

static void start_idle_timer(struct conn *c)
{
    uint64_t idle = c->p->idle_timeout_ms;

    if (idle)
        uv_timer_start(&c->timer, on_timer, idle, 0);
}

/* The server leg is established on g->tcp: start relaying. */
static void server_connected(struct conn *c)
{
    char addr[80];
    struct sockaddr_storage ss;
    int len = sizeof ss;

    uv_timer_stop(&c->timer);
    c->connected = true;
    c->legs[LEG_SERVER].state_ns = uv_hrtime();
    uv_tcp_nodelay(&c->legs[LEG_SERVER].tcp, 1);
    if (want_events(c)) {
        addr[0] = '\0';
        if (uv_tcp_getpeername(&c->legs[LEG_SERVER].tcp, (struct sockaddr *)&ss, &len) == 0)
            sockaddr_text((struct sockaddr *)&ss, addr, sizeof addr);
        struct log_kv kv[] = {{"server", addr, 0}};
        conn_event(c, LEG_SERVER, "connected", TL_SYN, false, 0, kv, 1, "connected to server");
    }
    c->last_activity_ms = uv_now(c->timer.loop);
    start_idle_timer(c);
    if (c->inj)
        inject_on_connected(c);
    if (c->closing)
        return;
    leg_read_start(c, LEG_SERVER);
    conn__resume(c, DIR_UPSTREAM, PAUSE_CONNECTING);
}

/* Resolving or connecting is over (cancelled): neither calls back any more. */
static void connect_cancel(struct conn *c)
{
    if (c->dns)
        resolve_cancel(c->dns);
    c->dns = NULL;
    if (c->dial)
        dial_cancel(c->dial);
    c->dial = NULL;
}

static void on_dial_socket(void *arg, unsigned i, int fd, const struct sockaddr *sa)
{
    struct conn *c = arg;
    char addr[80];

    LOG(LOG_LEVEL_DEBUG, conn_proxy_name(c), "connect_attempt", "#%llu: attempt %u: %s",
        (unsigned long long)c->id, i + 1, sockaddr_text(sa, addr, sizeof addr));
    /* finwait's own connection must pass its interception rules (and, with TPROXY, speak
     * with the client's address) */
    if (c->l->upstream_mark || c->intercepted) {
        int r = intercept_prepare_upstream(
            fd, c->l->upstream_mark, c->intercepted && c->p->intercept.mode == INTERCEPT_TPROXY,
            (const struct sockaddr *)&c->client);
        if (r < 0)
            LOG(LOG_LEVEL_WARN, conn_proxy_name(c), "intercept", "#%llu: upstream socket: %s",
                (unsigned long long)c->id, uv_strerror(r));
    }
    /* A server-leg packet fault watches the first attempt's flow only (the engine takes one
     * flow per leg): with a single address, as with a literal upstream, that is the one. */
    if (c->inj && i == 0)
        inject_on_socket(c, LEG_SERVER, fd, sa);
}

static void on_dial_failed(void *arg, unsigned i, const struct sockaddr *sa, int err)
{
    struct conn *c = arg;
    char addr[80];

    LOG(LOG_LEVEL_DEBUG, conn_proxy_name(c), "connect_attempt_failed", "#%llu: attempt %u: %s: %s",
        (unsigned long long)c->id, i + 1, sockaddr_text(sa, addr, sizeof addr), uv_strerror(err));
}

static void on_dialed(void *arg, int status, unsigned i, int fd, const struct sockaddr *sa)
{
    struct conn *c = arg;
    struct leg *g = &c->legs[LEG_SERVER];
    char addr[80];
    int r;

    c->dial = NULL;
    if (status < 0) {
        upstream_failed(c, "connect", status);
        return;
    }
    LOG(LOG_LEVEL_DEBUG, conn_proxy_name(c), "connect_attempt", "#%llu: attempt %u: %s: connected",
        (unsigned long long)c->id, i + 1, sockaddr_text(sa, addr, sizeof addr));
    uv_tcp_init(c->timer.loop, &g->tcp);
    g->tcp.data = c;
    g->open = true;
    r = uv_tcp_open(&g->tcp, fd);
    if (r < 0) {
        close(fd);
        upstream_failed(c, "connect", r);
        return;
    }
    server_connected(c);
}

static const struct dial_ops dial_ops = {
    .on_socket = on_dial_socket,
    .on_attempt_failed = on_dial_failed,
    .on_done = on_dialed,
};

static void connect_to(struct conn *c, const struct sockaddr_storage *addrs, size_t n)
{
    int r = dial_start(c->timer.loop, addrs, n, &dial_ops, c, &c->dial);

    if (r < 0)
        upstream_failed(c, "connect", r);
}

static void on_resolved(void *arg, int status, const struct sockaddr_storage *addrs, size_t n)
{
    struct conn *c = arg;

    c->dns = NULL;
    if (status < 0) {
        upstream_failed(c, "resolve", status);
        return;
    }
    LOG(LOG_LEVEL_DEBUG, conn_proxy_name(c), "resolved", "#%llu: %s: %zu address(es)",
        (unsigned long long)c->id, c->p->upstream_host, n);
    connect_to(c, addrs, n);
}

/*
 * connect_timeout covers the whole: the lookup and every attempt. A name is looked up for each
 * connection (c-ares reads /etc/hosts each time, DNS answers are not cached), so a changed
 * address is used from the next connection on.
 */
static void connect_upstream(struct conn *c)
{
    struct relay_ctx *rc = c->l->rc;
    const struct proxy_cfg *p = c->p;
    int r;

    uv_timer_start(&c->timer, on_timer, p->connect_timeout_ms, 0);
    if (c->intercepted) {
        connect_to(c, &c->orig_dst, 1);
        return;
    }
    if (c->l->upstream_literal) {
        connect_to(c, &c->l->upstream_addr, 1);
        return;
    }
    r = rc->dns ? 0 : resolver_open(rc->loop, &rc->dns);
    if (r == 0)
        r = resolve_start(rc->dns, p->upstream_host, p->upstream_port, on_resolved, c, &c->dns);
    if (r < 0) {
        c->dns = NULL;
        upstream_failed(c, "resolve", r);
    }
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    uint64_t idle = c->p->idle_timeout_ms;
    uint64_t quiet;

    if (c->closing)
        return;
    if (!c->connected) {
        upstream_failed(c, "connect_timeout", 0);
        return;
    }
    quiet = uv_now(t->loop) - c->last_activity_ms;
    if (quiet < idle) {
        uv_timer_start(t, on_timer, idle - quiet, 0);
        return;
    }
    /* Like a load balancer that forgets an idle flow (AWS NLB): both peers get an RST. */
    conn_abort(c, "idle_timeout");
}

/* --- accepting --- */

/* What listener_upstream_of said (r != 0) about connection c: 1 is an intercepted connection,
 * to its original destination; an error ends it at once with a reset (true: c is done). */
static bool intercept_refused(struct conn *c, int r)
{
    char dst[80];

    if (r > 0) {
        c->intercepted = true;
        return false;
    }
    if (r == UV_ELOOP)
        LOG(LOG_LEVEL_WARN, conn_proxy_name(c), "intercept_loop",
            "#%llu: refused: the client connected to finwait's own listener %s, which has no "
            "upstream (relaying it would loop)",
            (unsigned long long)c->id,
            sockaddr_text((struct sockaddr *)&c->orig_dst, dst, sizeof dst));
    else
        LOG(LOG_LEVEL_WARN, conn_proxy_name(c), "intercept",
            "#%llu: refused: no original destination: %s", (unsigned long long)c->id,
            uv_strerror(r));
    conn_abort(c, r == UV_ELOOP ? "intercept_loop" : "no_original_destination");
    return true;
}

void conn_accept(struct listener *l, int client_fd)
{
    struct relay_ctx *rc = l->rc;
    uv_loop_t *loop = rc->loop;
    struct conn *c = calloc(1, sizeof *c);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uint64_t mask;
    uv_os_fd_t fd;
    char addr[80], dst[80];
    struct log_kv client_kv[] = {{"client", addr, 0}, {"original_destination", dst, 0}};
    size_t nkv = 1;
    int r;

    if (!c) {
        LOG(LOG_LEVEL_ERROR, l->p->name, "accept", "out of memory");
        close(client_fd);
        return;
    }
    c->l = l;
    listener_ref(l);
    c->stats = stats_ref(l->stats);
    c->p = l->p;
    c->gen = cfg_gen_ref(l->gen);
    c->id = l->next_id++;
    c->t0_ns = uv_hrtime();
    c->last_byte_ns = c->t0_ns;
    c->legs[LEG_CLIENT].state_ns = c->t0_ns;
    c->pending = 1; /* dropped by conn_close */
    facts_start(c);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_tcp_init(loop, &c->legs[LEG_CLIENT].tcp);
    c->legs[LEG_CLIENT].tcp.data = c;
    c->legs[LEG_CLIENT].open = true;
    c->legs[LEG_SERVER].tcp.data = c;
    rc->hooks->conn_add(rc, c);

    if (uv_tcp_open(&c->legs[LEG_CLIENT].tcp, client_fd) != 0) {
        close(client_fd);
        conn_close(c);
        return;
    }
    c->stats->conns_total++;
    uv_tcp_nodelay(&c->legs[LEG_CLIENT].tcp, 1);
    memset(&ss, 0, sizeof ss);
    uv_tcp_getpeername(&c->legs[LEG_CLIENT].tcp, (struct sockaddr *)&ss, &len);
    c->client = ss;
    facts_accepted(c);
    sockaddr_text((struct sockaddr *)&ss, addr, sizeof addr);
    if (uv_fileno((uv_handle_t *)&c->legs[LEG_CLIENT].tcp, &fd) == 0 &&
        (r = listener_upstream_of(l, fd, &c->orig_dst)) != 0 && intercept_refused(c, r))
        return;
    if (c->intercepted) { /* the accept event says where the client was going */
        sockaddr_text((struct sockaddr *)&c->orig_dst, dst, sizeof dst);
        nkv = 2;
    }
    /* Every connection records its timeline, for the admin API's view of it; the first event
     * creates it. log.timeline only says whether it is printed at the end. */
    c->tl_print = c->gen->cfg->log_timeline;
    timeline_add_event(&c->tl, 0, TL_SYN, LEG_CLIENT, true, 0, "ESTABLISHED", "accepted",
                       "accepted", client_kv, nkv);
    if (LOG_ENABLED(LOG_LEVEL_INFO))
        log__conn(LOG_LEVEL_INFO, conn_proxy_name(c), c->id, conn_elapsed_ms(c), "accepted",
                  "client", leg_event_state(c, LEG_CLIENT), "accepted", client_kv, nkv);

    mask = inject_decide(c);
    if (mask && inject_new(c, mask) != 0) {
        conn_abort(c, "out of memory");
        return;
    }
    if (l->marked && uv_fileno((uv_handle_t *)&c->legs[LEG_CLIENT].tcp, &fd) == 0 &&
        !(c->inj && inject_on_socket(c, LEG_CLIENT, fd, NULL))) {
        /* inherited from the listener, but no packet fault applies to this connection */
        uint32_t none = 0;
        setsockopt(fd, SOL_SOCKET, SO_MARK, &none, sizeof none);
    }
    if (c->inj && inject_on_accept(c))
        return;
    /* The client is not read until the server leg is up: its bytes wait in the kernel. */
    c->dirs[DIR_UPSTREAM].paused = PAUSE_CONNECTING;
    connect_upstream(c);
}
