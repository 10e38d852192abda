/*
 * A case's two peers, each on a thread of its own with a blocking view of its socket: every
 * wait has a bound, and what each step observed is written down.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "case.h"
#include "check.h"
#include "sock.h"

#define STEP_BOUND_MS  3000 /* no step of a well-formed case waits this long */
#define PATTERN_PERIOD 251  /* prime: offsets show in the bytes, and a chunk is a memcpy */
#define CHUNK_MAX      65536

struct shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done[2]; /* steps finished by each peer */
};

struct peer_ctx {
    const struct kase *k;
    enum peer who;
    int fd;
    struct shared *sh;
    struct peer_obs *obs;
    uint8_t *buf;    /* CHUNK_MAX + PATTERN_PERIOD bytes of this peer's pattern */
    uint64_t jitter; /* random state of the timed moments' shifts; 0: none */
};

uint8_t peer_byte(enum peer p, uint64_t off)
{
    return (uint8_t)((off % PATTERN_PERIOD) * 7 + (p == PEER_SERVER ? 0x55 : 0x11));
}

const char *peer_end_name(enum end e)
{
    static const char *const names[] = {"?",     "ok",      "EOF",  "ECONNRESET",
                                        "EPIPE", "timeout", "error"};
    return e >= END_OK && e <= END_ERROR ? names[e] : "?";
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void sleep_ms(uint32_t ms)
{
    sleep_us((uint64_t)ms * 1000);
}

/* Up to max_us of random shift (xorshift), when this run shifts its moments. */
static uint64_t shift_us(struct peer_ctx *p, uint64_t max_us)
{
    if (!p->jitter)
        return 0;
    p->jitter ^= p->jitter << 13;
    p->jitter ^= p->jitter >> 7;
    p->jitter ^= p->jitter << 17;
    return p->jitter % (max_us + 1);
}

static enum end end_of_errno(int err)
{
    if (err == ECONNRESET)
        return END_RESET;
    if (err == EPIPE)
        return END_PIPE;
    return END_ERROR;
}

static bool wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};

    for (;;) {
        int64_t left = deadline - now_ms();
        int r = poll(&p, 1, left > 0 ? (int)left : 0);
        if (r > 0)
            return true;
        if (r == 0 || errno != EINTR)
            return false;
    }
}

static void do_write(struct peer_ctx *p, const struct step *st, struct obs *o)
{
    int64_t deadline = now_ms() + STEP_BOUND_MS;
    uint32_t chunk = st->chunk ? st->chunk : CHUNK_MAX;

    o->end = END_OK;
    while (o->bytes < st->n) {
        uint64_t want = st->n - o->bytes;
        if (want > chunk)
            want = chunk;
        if (o->bytes > 0 && st->delay_ms && o->bytes % chunk == 0)
            sleep_us((uint64_t)st->delay_ms * 1000 + shift_us(p, 2000));
        /* a chunk is sent whole before the next delay; a send may take part of it */
        uint64_t sent = 0;
        while (sent < want) {
            uint64_t off = o->bytes;
            size_t len = (size_t)(want - sent);
            if (len > CHUNK_MAX)
                len = CHUNK_MAX;
            if (!wait_fd(p->fd, POLLOUT, deadline)) {
                o->end = END_TIMEOUT;
                return;
            }
            ssize_t n =
                send(p->fd, p->buf + off % PATTERN_PERIOD, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n < 0) {
                o->err = errno;
                o->end = end_of_errno(errno);
                return;
            }
            sent += (uint64_t)n;
            o->bytes += (uint64_t)n;
        }
    }
}

static void do_read(struct peer_ctx *p, const struct step *st, struct obs *o)
{
    static __thread uint8_t buf[CHUNK_MAX];
    int64_t deadline = now_ms() + STEP_BOUND_MS;
    enum peer other = p->who == PEER_CLIENT ? PEER_SERVER : PEER_CLIENT;

    for (;;) {
        size_t want = sizeof buf;
        if (st->n) {
            if (o->bytes == st->n) {
                o->end = END_OK;
                return;
            }
            if (st->n - o->bytes < want)
                want = (size_t)(st->n - o->bytes);
        }
        if (!wait_fd(p->fd, POLLIN, deadline)) {
            o->end = END_TIMEOUT;
            return;
        }
        ssize_t n = recv(p->fd, buf, want, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0) {
            o->err = errno;
            o->end = end_of_errno(errno);
            return;
        }
        if (n == 0) {
            o->end = END_EOF;
            return;
        }
        /* the offset is counted over the whole connection: earlier reads came before */
        uint64_t base = 0;
        for (int i = 0; i < p->obs->n; i++)
            if (p->k->peer[p->who].step[i].op == OP_READ)
                base += p->obs->step[i].bytes;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != peer_byte(other, base + o->bytes + (uint64_t)i))
                o->data_ok = false;
            o->hash = (o->hash ^ buf[i]) * 0x100000001b3ull;
        }
        o->bytes += (uint64_t)n;
    }
}

/* Poll a queue's length: the kernel gives no event when it changes. */
static void wait_queue(struct peer_ctx *p, int req, uint64_t n, bool at_least, struct obs *o)
{
    int64_t deadline = now_ms() + STEP_BOUND_MS;

    for (;;) {
        int q = 0;
        if (ioctl(p->fd, req, &q) != 0) {
            o->err = errno;
            o->end = END_ERROR;
            return;
        }
        if (at_least ? (uint64_t)q >= n : q == 0) {
            o->end = END_OK;
            return;
        }
        if (now_ms() >= deadline) {
            o->end = END_TIMEOUT;
            return;
        }
        sleep_ms(1);
    }
}

static void wait_peer(struct peer_ctx *p, uint64_t n, struct obs *o)
{
    struct timespec until;
    enum peer other = p->who == PEER_CLIENT ? PEER_SERVER : PEER_CLIENT;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STEP_BOUND_MS / 1000;
    o->end = END_OK;
    pthread_mutex_lock(&p->sh->mu);
    while ((uint64_t)p->sh->done[other] < n)
        if (pthread_cond_timedwait(&p->sh->cv, &p->sh->mu, &until) == ETIMEDOUT) {
            o->end = END_TIMEOUT;
            break;
        }
    pthread_mutex_unlock(&p->sh->mu);
}

/* The end of the other direction shows in poll: RDHUP for a FIN, HUP or ERR for an RST. */
static void wait_end(struct peer_ctx *p, struct obs *o)
{
    struct pollfd pf = {.fd = p->fd, .events = POLLRDHUP};
    int64_t deadline = now_ms() + STEP_BOUND_MS;

    for (;;) {
        int64_t left = deadline - now_ms();
        int r = poll(&pf, 1, left > 0 ? (int)left : 0);
        if (r > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            o->end = END_OK;
            return;
        }
        if (r == 0 || (r < 0 && errno != EINTR)) {
            o->end = END_TIMEOUT;
            return;
        }
    }
}

static void do_step(struct peer_ctx *p, const struct step *st, struct obs *o)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    memset(o, 0, sizeof *o);
    o->data_ok = true;
    switch (st->op) {
    case OP_WRITE:
        do_write(p, st, o);
        break;
    case OP_READ:
        do_read(p, st, o);
        break;
    case OP_SHUT_WR:
        o->end = END_OK;
        if (shutdown(p->fd, SHUT_WR) != 0) {
            o->err = errno;
            o->end = END_ERROR;
        }
        break;
    case OP_WAIT_PEER:
        wait_peer(p, st->n, o);
        break;
    case OP_WAIT_END:
        wait_end(p, o);
        break;
    case OP_WAIT_INQ:
        wait_queue(p, SIOCINQ, st->n, true, o);
        break;
    case OP_WAIT_DRAIN:
        wait_queue(p, SIOCOUTQ, 0, false, o);
        break;
    case OP_SLEEP:
        sleep_us(st->n * 1000 + shift_us(p, 2000));
        o->end = END_OK;
        break;
    case OP_ABORT:
        sleep_us(shift_us(p, 5000));
        setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        /* fall through */
    case OP_CLOSE:
        if (st->op == OP_CLOSE)
            sleep_us(shift_us(p, 5000));
        close(p->fd);
        p->fd = -1;
        o->end = END_OK;
        break;
    }
}

static void *peer_main(void *arg)
{
    struct peer_ctx *p = arg;
    const struct script *sc = &p->k->peer[p->who];

    /* a shifted run starts each peer up to 1 ms late: one direction's latency, as a hop adds */
    sleep_us(shift_us(p, 1000));
    for (int i = 0; i < sc->n && p->fd >= 0; i++) {
        do_step(p, &sc->step[i], &p->obs->step[i]);
        p->obs->n = i + 1;
        pthread_mutex_lock(&p->sh->mu);
        p->sh->done[p->who] = i + 1;
        pthread_cond_broadcast(&p->sh->cv);
        pthread_mutex_unlock(&p->sh->mu);
    }
    return NULL;
}

static uint8_t *pattern(enum peer who)
{
    static uint8_t bufs[2][CHUNK_MAX + PATTERN_PERIOD];

    if (bufs[who][1] == 0)
        for (size_t i = 0; i < sizeof bufs[who]; i++)
            bufs[who][i] = peer_byte(who, i);
    return bufs[who];
}

void peer_run(const struct kase *k, int c, int s, uint64_t jitter, struct run_obs *o)
{
    struct shared sh = {.done = {0, 0}};
    struct peer_ctx ctx[2] = {
        {.k = k, .who = PEER_CLIENT, .fd = c, .sh = &sh, .obs = &o->peer[PEER_CLIENT]},
        {.k = k, .who = PEER_SERVER, .fd = s, .sh = &sh, .obs = &o->peer[PEER_SERVER]},
    };
    struct sk_thread th[2];

    memset(o, 0, sizeof *o);
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv, NULL);
    for (int i = 0; i < 2; i++) {
        ctx[i].buf = pattern((enum peer)i);
        ctx[i].jitter = jitter ? jitter * 2 + (uint64_t)i + 1 : 0;
        sk_thread_start(&th[i], peer_main, &ctx[i]);
    }
    for (int i = 0; i < 2; i++)
        sk_thread_join(&th[i]);
    for (int i = 0; i < 2; i++)
        if (ctx[i].fd >= 0)
            close(ctx[i].fd);
    pthread_cond_destroy(&sh.cv);
    pthread_mutex_destroy(&sh.mu);
}
