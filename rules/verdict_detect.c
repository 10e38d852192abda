/*
 * The detectors of one connection: each reads the facts the relay recorded and either finds
 * its signature (README, "Teardown verdicts") or stays silent. A silent detector is the
 * normal case: a false positive is a bug, and each detector's unit test has a twin where the
 * same wire shape is legitimate.
 */
#include "rules/verdict.h"

#include <stdarg.h>
#include <stdio.h>

#define SET(t) ((t) != VF_NONE)

struct out {
    const struct verdict_facts *f;
    struct finding *v;
    int n, max;
};

static struct finding *emit(struct out *o, enum verdict_kind k, enum verdict_side side, double t_ms)
{
    struct finding *x;

    if (o->n >= o->max || (o->f->reported & (1u << k)))
        return NULL;
    x = &o->v[o->n++];
    *x = (struct finding){.kind = k, .side = side, .t_ms = t_ms};
    /* finwait's own fault acted before this: the application met it on purpose */
    if (o->f->fault[0] && o->f->fault_ms <= t_ms)
        x->expected = o->f->fault;
    return x;
}

static void num(struct finding *x, const char *key, double v)
{
    if (x->nnums < VERDICT_NUMS)
        x->nums[x->nnums++] = (struct verdict_num){key, v};
}

static void why(struct finding *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(struct finding *x, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(x->why, sizeof x->why, fmt, ap);
    va_end(ap);
}

static const char *peer(int leg)
{
    return leg == 0 ? "client" : "server";
}

/* The direction whose bytes come from leg's peer. */
static int from_dir(int leg)
{
    return leg == 0 ? 0 : 1;
}

/*
 * peer_keeps_closed, close_wait_leak: finwait's FIN went out on the leg and since then (or
 * since the peer's last byte: a peer still sending is working, not holding) nothing came.
 */
static void keeps_closed(const struct verdict_cfg *vc, struct out *o, double now_ms)
{
    for (int l = 0; l < 2; l++) {
        const struct vf_leg *g = &o->f->legs[l];
        double since, held, last = o->f->last_data_ms[from_dir(l)];
        struct finding *x;
        enum verdict_kind k;
        uint64_t limit;

        double until = now_ms;

        if (!SET(g->fin_sent_ms))
            continue;
        /* held until the peer's FIN or RST, or finwait's RST; judged afterwards too */
        if (SET(g->fin_received_ms) && g->fin_received_ms < until)
            until = g->fin_received_ms;
        if (SET(g->rst_received_ms) && g->rst_received_ms < until)
            until = g->rst_received_ms;
        if (SET(g->rst_sent_ms) && g->rst_sent_ms < until)
            until = g->rst_sent_ms;
        since = last > g->fin_sent_ms ? last : g->fin_sent_ms;
        held = until - since;
        k = VK_CLOSE_WAIT_LEAK;
        limit = vc->close_wait_leak_ms;
        if (!vc->on[k] || held < (double)limit || (o->f->reported & (1u << k))) {
            k = VK_PEER_KEEPS_CLOSED;
            limit = vc->peer_keeps_closed_ms;
            if (!vc->on[k] || held < (double)limit)
                continue;
        }
        x = emit(o, k, l == 0 ? VSIDE_CLIENT : VSIDE_SERVER, since + (double)limit);
        if (!x)
            continue;
        num(x, "fin_sent_ms", g->fin_sent_ms);
        num(x, "held_ms", held);
        num(x, "threshold_ms", (double)limit);
        if (SET(last))
            num(x, "last_byte_ms", last);
        why(x,
            "finwait sent its FIN to the %s at %.1f ms and the %s has sent nothing since, no "
            "FIN, no byte, for %.0f ms: it keeps a connection the other end closed "
            "(CLOSE_WAIT)%s; close the socket when a read returns EOF, and have a pool check "
            "its idle connections for EOF before reusing them",
            peer(l), g->fin_sent_ms, peer(l), held,
            k == VK_CLOSE_WAIT_LEAK ? ", longer than Linux keeps the other end (tcp_fin_timeout)"
                                    : "");
    }
}

/*
 * An upload toward the peer of leg l that began before the peer's answer and went on across
 * the peer's FIN (delivered or refused): the peer closed while the other was still sending.
 * The answer may split the upload into bursts: it goes on when each of its bursts began
 * within answer_lost of the previous one's end (python3 -m http.server's 501 to a 4 MiB POST:
 * 320 KiB up, the answer, 64 KiB more up, the FIN, 64 KiB more up, the RST); a burst begun
 * after the FIN counts only when one began between the answer and the FIN. An RST within
 * answer_lost of the FIN, no byte toward the peer since, counts too: the upload had stalled
 * (the peer stopped reading) and its close reset over the unread bytes. Returns its first
 * burst (NULL if none) and the answer's first burst in *answer.
 */
static const struct vf_burst *upload_across_fin(const struct verdict_cfg *vc,
                                                const struct verdict_facts *f, int l,
                                                const struct vf_burst **answer)
{
    const struct vf_leg *g = &f->legs[l];
    const struct vf_burst *first = NULL, *to = NULL;
    int todir = 1 - from_dir(l);
    bool across = false, paused = false, during = false, late = false;

    *answer = NULL;
    for (unsigned i = 0; i < f->nbursts; i++) {
        const struct vf_burst *b = &f->bursts[i];
        if (b->dir == from_dir(l)) {
            if (b->first_ms <= g->fin_received_ms && !*answer)
                *answer = b;
            continue;
        }
        if (to && b->first_ms - to->last_ms > (double)vc->answer_lost_ms) {
            paused = true; /* what follows is a new request */
            break;
        }
        late = late || b->first_ms > g->fin_received_ms;
        if (!*answer && b->first_ms <= g->fin_received_ms)
            first = first ? first : b;
        else if (first && b->first_ms <= g->fin_received_ms)
            during = true; /* it went on after the answer began */
        to = b;
        /* a burst begun after the FIN continues the upload only if it went on after the
         * answer: else it looks like a new request, request_into_closed */
        across = across || (b->last_ms >= g->fin_received_ms &&
                            (b->first_ms <= g->fin_received_ms || during));
    }
    /* bytes refused after the FIN belong to this upload unless a new request followed it;
     * an RST right after the FIN with no byte since is the close itself resetting over the
     * upload's unread bytes (the server had stopped reading: the upload stalled) */
    across = across || (!paused && f->undelivered_ms[todir] >= g->fin_received_ms);
    across = across || (!paused && !late && SET(g->rst_received_ms) &&
                        g->rst_received_ms - g->fin_received_ms <= (double)vc->answer_lost_ms);
    return *answer && first && across ? first : NULL;
}

/*
 * request_into_closed: the server's FIN, then client bytes that reached finwait after the
 * FIN was relayed (or within request_into_closed ms of it), then the server's RST.
 */
static void request_into_closed(const struct verdict_cfg *vc, struct out *o)
{
    const struct verdict_facts *f = o->f;
    const struct vf_leg *s = &f->legs[1], *c = &f->legs[0];
    const struct vf_burst *answer;
    double idle_from = VF_NONE;
    struct finding *x;

    if (!vc->on[VK_REQUEST_INTO_CLOSED] || !SET(s->fin_received_ms) || !SET(s->rst_received_ms))
        return;
    if (upload_across_fin(vc, f, 1, &answer))
        return; /* the server closed during an upload: answer_lost, not a reused connection */
    for (unsigned i = 0; i < f->nbursts; i++) {
        const struct vf_burst *b = &f->bursts[i];
        bool after_relay = SET(c->fin_sent_ms) && b->last_ms >= c->fin_sent_ms;
        bool racing = b->last_ms >= s->fin_received_ms &&
                      b->last_ms - s->fin_received_ms <= (double)vc->request_into_closed_ms;

        if (b->last_ms < s->fin_received_ms) {
            idle_from = b->last_ms;
            continue;
        }
        if (b->dir != 0 || !(after_relay || racing) || s->rst_received_ms < b->first_ms)
            continue;
        x = emit(o, VK_REQUEST_INTO_CLOSED, VSIDE_CLIENT, s->rst_received_ms);
        if (!x)
            return;
        num(x, "server_fin_ms", s->fin_received_ms);
        if (SET(c->fin_sent_ms))
            num(x, "fin_relayed_ms", c->fin_sent_ms);
        num(x, "request_ms", b->first_ms);
        num(x, "request_bytes", (double)b->bytes);
        num(x, "server_rst_ms", s->rst_received_ms);
        if (SET(idle_from))
            num(x, "idle_before_fin_ms", s->fin_received_ms - idle_from);
        why(x,
            "the server closed this connection at %.1f ms after %.0f ms idle; the client wrote "
            "%llu B %.1f ms after %s, and the server reset the connection: its pool reuses "
            "connections the server has closed; retry idempotent requests on a reused "
            "connection, or make the pool's idle timeout shorter than the server's",
            s->fin_received_ms, s->fin_received_ms - (SET(idle_from) ? idle_from : 0),
            (unsigned long long)b->bytes,
            b->first_ms - (SET(c->fin_sent_ms) ? c->fin_sent_ms : s->fin_received_ms),
            SET(c->fin_sent_ms) ? "finwait relayed the FIN" : "the server's FIN");
        return;
    }
}

/*
 * answer_lost without an answer seen: the peer reset while bytes were still reaching it (the
 * last of them within vc->answer_lost_ms of the RST) and it had sent nothing since they began.
 * Its answer, if it wrote one, went with the RST: Linux drops what a reset socket had not
 * read yet, at finwait as at any peer (python3 -m http.server's 501 to a large upload).
 */
static void unread_reset(const struct verdict_cfg *vc, struct out *o, int l)
{
    const struct verdict_facts *f = o->f;
    const struct vf_leg *g = &f->legs[l];
    const struct vf_burst *to = NULL;
    struct finding *x;

    for (unsigned i = 0; i < f->nbursts; i++) {
        const struct vf_burst *b = &f->bursts[i];
        if (b->first_ms > g->rst_received_ms)
            break;
        to = b->dir == from_dir(l) ? NULL : b; /* an answer after it: not this case */
    }
    if (!to || g->rst_received_ms - to->last_ms > (double)vc->answer_lost_ms)
        return;
    x = emit(o, VK_ANSWER_LOST, l == 0 ? VSIDE_CLIENT : VSIDE_SERVER, g->rst_received_ms);
    if (!x)
        return;
    num(x, "sending_from_ms", to->first_ms);
    num(x, "unread_bytes", (double)to->bytes);
    num(x, "last_byte_ms", to->last_ms);
    num(x, "rst_ms", g->rst_received_ms);
    why(x,
        "the %s reset the connection without a FIN at %.1f ms while the %s was still sending "
        "(%llu B since %.1f ms, the last %.1f ms before the RST): it closed with unread data, "
        "and the RST destroys any answer it wrote before the %s reads it; read the request "
        "to its end before closing, or shut down writing and wait for the peer's FIN",
        peer(l), g->rst_received_ms, peer(!l), (unsigned long long)to->bytes, to->first_ms,
        g->rst_received_ms - to->last_ms, peer(!l));
}

/*
 * answer_lost where the peer's close sent a FIN first (its receive queue was empty at that
 * instant) and the bytes the other peer was still sending then drew the RST: an answer, the
 * FIN, the RST, and an upload that began before the answer and went on across the FIN. A
 * request begun after the FIN, or after a pause, is request_into_closed instead.
 */
static void fin_then_reset(const struct verdict_cfg *vc, struct out *o, int l)
{
    const struct verdict_facts *f = o->f;
    const struct vf_leg *g = &f->legs[l];
    const struct vf_burst *answer, *to = upload_across_fin(vc, f, l, &answer);
    struct finding *x;

    if (!to)
        return;
    x = emit(o, VK_ANSWER_LOST, l == 0 ? VSIDE_CLIENT : VSIDE_SERVER, g->rst_received_ms);
    if (!x)
        return;
    num(x, "answer_ms", answer->first_ms);
    num(x, "answer_bytes", (double)answer->bytes);
    num(x, "fin_ms", g->fin_received_ms);
    num(x, "rst_ms", g->rst_received_ms);
    num(x, "sending_from_ms", to->first_ms);
    why(x,
        "the %s answered (%llu B at %.1f ms) and closed (FIN at %.1f ms) while the %s was still "
        "sending (since %.1f ms): the rest of it drew an RST at %.1f ms, which can make the %s "
        "lose the answer; read the request to its end before closing, or shut down writing and "
        "wait for the peer's FIN",
        peer(l), (unsigned long long)answer->bytes, answer->first_ms, g->fin_received_ms, peer(!l),
        to->first_ms, g->rst_received_ms, peer(!l));
}

/* answer_lost where the bytes after the answer were refused by the reset itself. */
static void undelivered_after_answer(struct out *o, int l, const struct vf_burst *answer)
{
    const struct verdict_facts *f = o->f;
    const struct vf_leg *g = &f->legs[l];
    int to = 1 - from_dir(l);
    struct finding *x;

    x = emit(o, VK_ANSWER_LOST, l == 0 ? VSIDE_CLIENT : VSIDE_SERVER, g->rst_received_ms);
    if (!x)
        return;
    num(x, "answer_ms", answer->first_ms);
    num(x, "answer_bytes", (double)answer->bytes);
    num(x, "refused_bytes", (double)f->undelivered[to]);
    num(x, "rst_ms", g->rst_received_ms);
    why(x,
        "the %s answered (%llu B at %.1f ms) while the %s was still sending, then reset the "
        "connection without a FIN at %.1f ms (%llu B finwait was writing to it were refused): "
        "it closed with unread data, and that RST can make the %s lose the answer; read the "
        "request to its end before closing, or shut down writing and wait for the peer's FIN",
        peer(l), (unsigned long long)answer->bytes, answer->first_ms, peer(!l), g->rst_received_ms,
        (unsigned long long)f->undelivered[to], peer(!l));
}

/*
 * answer_lost: a peer reset its leg without a FIN before, and bytes were still reaching it
 * after its answer began (it closed with unread data, so its kernel sent an RST that can
 * destroy the answer at the other end).
 */
static void answer_lost(const struct verdict_cfg *vc, struct out *o)
{
    const struct verdict_facts *f = o->f;

    if (!vc->on[VK_ANSWER_LOST])
        return;
    for (int l = 0; l < 2; l++) {
        const struct vf_leg *g = &f->legs[l];
        const struct vf_burst *answer = NULL, *late = NULL;
        struct finding *x;

        if (!SET(g->rst_received_ms) || SET(g->rst_sent_ms))
            continue;
        if (SET(g->fin_received_ms)) {
            fin_then_reset(vc, o, l);
            continue;
        }
        for (unsigned i = 0; i < f->nbursts; i++) {
            const struct vf_burst *b = &f->bursts[i];
            if (b->first_ms > g->rst_received_ms)
                break;
            if (b->dir == from_dir(l)) {
                answer = b; /* its latest answer, and what reached it after that */
                late = NULL;
            } else if (answer) {
                late = b;
            }
        }
        if (answer && (!late || l == 0) && f->undelivered_ms[1 - from_dir(l)] >= answer->first_ms) {
            /* still being written to it when it reset: refused bytes, not delivered ones */
            undelivered_after_answer(o, l, answer);
            continue;
        }
        /* A client's bytes are requests and the server's its answers: bytes that reached a
         * client after it wrote are what it asked for, and a client that resets once they are
         * in (SO_LINGER 0: load generators, health checks, the benchmark's connection loop)
         * lost nothing; on the wire that looks like a server's stream it cut short. Only the
         * bytes its reset refused say it left some unread. */
        if (l == 0)
            continue;
        if (!answer || !late) {
            unread_reset(vc, o, l);
            continue;
        }
        x = emit(o, VK_ANSWER_LOST, l == 0 ? VSIDE_CLIENT : VSIDE_SERVER, g->rst_received_ms);
        if (!x)
            return;
        num(x, "answer_ms", answer->first_ms);
        num(x, "answer_bytes", (double)answer->bytes);
        num(x, "unread_from_ms", late->first_ms);
        num(x, "unread_bytes", (double)late->bytes);
        num(x, "rst_ms", g->rst_received_ms);
        why(x,
            "the %s answered (%llu B at %.1f ms) while the %s was still sending (%llu B more "
            "until %.1f ms), then reset the connection without a FIN at %.1f ms: it closed "
            "with unread data, and that RST can make the %s lose the answer; read the request "
            "to its end before closing, or shut down writing and wait for the peer's FIN",
            peer(l), (unsigned long long)answer->bytes, answer->first_ms, peer(!l),
            (unsigned long long)late->bytes, late->last_ms, g->rst_received_ms, peer(!l));
    }
}

/* The last upstream burst (the latest request), or NULL; *idx its index. */
static const struct vf_burst *last_request(const struct verdict_facts *f, double before_ms,
                                           unsigned *idx)
{
    for (unsigned i = f->nbursts; i-- > 0;)
        if (f->bursts[i].dir == 0 && f->bursts[i].first_ms <= before_ms) {
            *idx = i;
            return &f->bursts[i];
        }
    return NULL;
}

/* A bulk upload: this much in one burst. */
#define UPLOAD_BYTES (64u << 10)
/* Faster than a client turns round: read an answer, then send its next request. */
#define UPLOAD_GAP_MS 1.0

/*
 * The upstream burst bursts[ri] is the rest of an upload the downstream burst before it
 * answered early (before the upload had reached the server), not a new request: the relay saw
 * the client's bytes still on their way when it read the answer (vf_burst.early), or the
 * timing says so: a bulk upload went on right after the answer, too soon for a client that
 * read it before asking again, or ran up to it from a bulk before it; a bulk before the answer
 * alone must do both (a quick server answers a bulk request within 1 ms of its end). The
 * timing catches what the mark misses: a client between two writes at that instant, a server
 * that answered a request's head before its body left the client (curl with nginx: 1-3 of 10
 * uploads each way), and a loaded machine stalling one side or the other for milliseconds.
 */
static bool continues_upload(const struct verdict_facts *f, unsigned ri)
{
    const struct vf_burst *answer, *before, *req = &f->bursts[ri];

    if (ri == 0 || f->bursts[ri - 1].dir != 1)
        return false;
    answer = &f->bursts[ri - 1];
    if (answer->early)
        return true;
    if (ri < 2)
        return false;
    before = &f->bursts[ri - 2];
    bool up_to = answer->first_ms - before->last_ms < UPLOAD_GAP_MS;
    bool on_after = req->first_ms - answer->last_ms < UPLOAD_GAP_MS;
    bool bulk_before = before->bytes >= UPLOAD_BYTES, bulk_after = req->bytes >= UPLOAD_BYTES;
    if (bulk_after)
        return on_after || (bulk_before && up_to);
    return bulk_before && up_to && on_after;
}

/*
 * half_close_ignored: the client's request, its FIN, then the server's FIN (after finwait
 * relayed the client's) with no byte after the request, on a connection where the server
 * had answered before: a one-way protocol (an upload) looks the same and is not judged.
 * Upload bytes after an early answer are the rest of the request it answered, not a new one
 * (nginx's `return 200` to a large POST, which then reads and discards the body).
 */
static void half_close_ignored(const struct verdict_cfg *vc, struct out *o)
{
    const struct verdict_facts *f = o->f;
    const struct vf_leg *c = &f->legs[0], *s = &f->legs[1];
    const struct vf_burst *req;
    bool answered_before = false, answered_after = false;
    unsigned ri = 0;
    struct finding *x;

    if (!vc->on[VK_HALF_CLOSE_IGNORED] || !SET(c->fin_received_ms) || !SET(s->fin_sent_ms) ||
        !SET(s->fin_received_ms) || s->fin_received_ms < s->fin_sent_ms)
        return;
    req = last_request(f, c->fin_received_ms, &ri);
    if (!req || continues_upload(f, ri))
        return;
    for (unsigned i = 0; i < f->nbursts; i++) {
        if (f->bursts[i].dir != 1)
            continue;
        if (i < ri)
            answered_before = true;
        else
            answered_after = true;
    }
    if (!answered_before && f->dropped && f->answered)
        answered_before = true;
    if (!answered_before || answered_after)
        return;
    x = emit(o, VK_HALF_CLOSE_IGNORED, VSIDE_SERVER, s->fin_received_ms);
    if (!x)
        return;
    num(x, "request_ms", req->first_ms);
    num(x, "request_bytes", (double)req->bytes);
    num(x, "client_fin_ms", c->fin_received_ms);
    num(x, "fin_relayed_ms", s->fin_sent_ms);
    num(x, "server_fin_ms", s->fin_received_ms);
    num(x, "delay_ms", s->fin_received_ms - s->fin_sent_ms);
    why(x,
        "the client sent %llu B, then its FIN (a half-close: it still reads), and the server "
        "closed %.1f ms after finwait relayed that FIN without answering the request: it "
        "treats EOF as the end of the conversation (Node's allowHalfOpen: false, socat -t, "
        "nginx stream without proxy_half_close); keep writing after reading EOF",
        (unsigned long long)req->bytes, s->fin_received_ms - s->fin_sent_ms);
}

/*
 * client_timeout_shorter: the client's FIN with its request unanswered, the answer after
 * that FIN, then the client's RST (its socket was closed, not half-closed).
 */
static void client_timeout_shorter(const struct verdict_cfg *vc, struct out *o)
{
    const struct verdict_facts *f = o->f;
    const struct vf_leg *c = &f->legs[0];
    const struct vf_burst *req, *answer = NULL;
    unsigned ri = 0;
    struct finding *x;

    if (!vc->on[VK_CLIENT_TIMEOUT_SHORTER] || !SET(c->fin_received_ms) || !SET(c->rst_received_ms))
        return;
    req = last_request(f, c->fin_received_ms, &ri);
    if (!req)
        return;
    for (unsigned i = ri + 1; i < f->nbursts; i++) {
        const struct vf_burst *b = &f->bursts[i];
        if (b->dir != 1)
            continue;
        if (b->first_ms < c->fin_received_ms)
            return; /* answered before the client's FIN: nothing was outstanding */
        answer = b;
        break;
    }
    if (!answer || c->rst_received_ms < answer->first_ms)
        return;
    x = emit(o, VK_CLIENT_TIMEOUT_SHORTER, VSIDE_CLIENT, c->rst_received_ms);
    if (!x)
        return;
    num(x, "request_ms", req->first_ms);
    num(x, "client_fin_ms", c->fin_received_ms);
    num(x, "waited_ms", c->fin_received_ms - req->last_ms);
    num(x, "answer_ms", answer->first_ms);
    num(x, "answer_bytes", (double)answer->bytes);
    num(x, "client_rst_ms", c->rst_received_ms);
    why(x,
        "the client gave up %.1f ms after its request (its FIN at %.1f ms), the server "
        "answered at %.1f ms and the client's kernel reset the connection: the client's "
        "timeout is shorter than the server takes; make it longer than the server's, or make "
        "the server give up first",
        c->fin_received_ms - req->last_ms, c->fin_received_ms, answer->first_ms);
}

int verdict_judge(const struct verdict_cfg *vc, const struct verdict_facts *f, double now_ms,
                  bool ended, struct finding *out, int max)
{
    struct out o = {f, out, 0, max};

    (void)ended;
    keeps_closed(vc, &o, now_ms);
    request_into_closed(vc, &o);
    answer_lost(vc, &o);
    half_close_ignored(vc, &o);
    client_timeout_shorter(vc, &o);
    return o.n;
}
