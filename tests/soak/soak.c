/*
 * The soak: many connections through a running finwait, every fault at random, reloads and
 * admin API changes meanwhile; at the end finwait must be back where it started (descriptors,
 * memory, no socket left). Not part of the test suite: tests/soak/run.sh runs it.
 *
 * One libuv loop holds both ends of every flow: the client that connects to a proxy and the
 * server finwait connects to (the flow's id travels in a 16-byte header), so each flow is
 * judged with both ends' figures. Flows through the clean proxies (no fault) must deliver
 * every byte both ways (64-bit FNV-1a of each direction at both ends) and end as their script
 * says (EOF or ECONNRESET at each end); flows through faulted proxies must only end.
 *
 * Control, every --reload-every ms: rewrite the config and SIGHUP (good, good, broken: the
 * broken one must be refused and the running one kept, checked through GET /proxies), then a
 * few admin API changes with their statuses checked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define HDR_LEN     16
#define HDR_MAGIC   0x4b535746u /* "FWSK" */
#define CHUNK       16384
#define QUEUE_LIMIT (256 * 1024) /* our own write queue per socket */
#define MAX_PORTS   16

/* What a flow does; both ends follow the script its header names. */
enum beh {
    B_ECHO,        /* client sends R bytes and FIN; server echoes, then FIN */
    B_CLIENT_HALF, /* client sends R bytes and FIN; server reads to EOF, answers S bytes, FIN */
    B_SERVER_HALF, /* server sends S bytes and FIN first; client reads to EOF, sends R, FIN */
    B_CLIENT_RST,  /* client sends R bytes, reads the echo, then resets */
    B_SERVER_RST,  /* server sends S bytes; client reads them and sends one byte; server resets */
    B_NOREAD,      /* client never reads; server writes until reset; client closes later */
    B_COUNT,
};
static const char *const beh_name[B_COUNT] = {
    "echo",       "client-half-close", "server-half-close",
    "client-rst", "server-rst",        "client-never-reads"};
static const unsigned beh_weight[B_COUNT] = {30, 15, 15, 13, 13, 14};

/* How one end of a flow ended. */
enum end {
    E_NONE,    /* not yet */
    E_EOF,     /* the script finished after EOF both ways, or EOF came early */
    E_RESET,   /* read or write failed with ECONNRESET / EPIPE */
    E_SELF,    /* this end reset or closed by its script */
    E_REFUSED, /* connect refused */
    E_TIMEOUT, /* nothing moved for the idle limit: this end reset */
    E_ERROR,   /* another error */
    E_COUNT,
};
static const char *const end_name[E_COUNT] = {"none",    "EOF",     "ECONNRESET", "own close",
                                              "refused", "timeout", "error"};

struct flow {
    uint32_t id;
    uint8_t beh;
    uint8_t target;
    bool clean;   /* through a proxy without faults: checked byte for byte */
    bool c_done;  /* the client end has ended */
    bool s_done;  /* the server end has ended */
    bool s_seen;  /* a server end read this flow's header */
    bool checked; /* judged (clean flows) */
    uint8_t c_end, s_end;
    int c_err, s_err;
    uint32_t r, s;       /* client payload bytes, server payload bytes */
    uint16_t cport;      /* the client's port, to find the flow in finwait's log */
    uint32_t c_ms, s_ms; /* when each end ended, ms after the flow started */
    uint64_t t0;
    uint64_t c_tx, c_rx, s_tx, s_rx;
    uint64_t c_txh, c_rxh, s_txh, s_rxh;
};

struct peer {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    uv_shutdown_t sreq;
    int pending; /* handles not yet closed */
    bool closing;
    bool server;
    bool reading;
    bool rx_eof;
    bool shut_req, shut_done;
    bool started2; /* the script's second phase began */
    struct flow *f;
    uint8_t hdr[HDR_LEN];
    size_t hdr_len;
    uint64_t tx_left;
    uint64_t rng; /* payload bytes */
    uint64_t tx, rx, txh, rxh;
    uint64_t t_start, t_progress, t_close; /* ms (uv_now) */
};

struct wreq {
    uv_write_t req;
    struct peer *p;
    char data[];
};

struct target {
    char name[32];
    char host[16];
    uint16_t port;
    bool clean;
    bool present; /* listening as far as the driver knows */
};

static struct {
    const char *finwait, *dir;
    uint64_t n, conc, seed;
    unsigned deadline_s, reload_ms, rss_slack_mib;
    const char *without; /* fault types left out, comma-separated */
    bool list_changes, forever, odd_api, verbose;
} opt = {.n = 100000,
         .conc = 200,
         .deadline_s = 3600,
         .reload_ms = 2000,
         .rss_slack_mib = 64,
         .list_changes = true,
         .forever = true,
         .odd_api = true};

static uv_loop_t *loop;
static uv_tcp_t srv4;
static uint16_t srv_port, base_port, admin_port;
static struct flow *flows;
static uint64_t started, active, live_servers, rng_main;
static struct target targets[MAX_PORTS];
static int ntargets;
static pid_t fw_pid;
static char cfg_path[512], log_path[512];
static int64_t t0_ms;
static uv_timer_t sched_timer, ctl_timer;

static struct {
    uint64_t by_beh[B_COUNT], by_end_c[E_COUNT], clean, faulted, verified, refused;
    uint64_t bytes_up, bytes_down, failures, orphan_servers;
    uint64_t
        tails_after_detach; /* a faulted flow's payload without its header: see server_header */
    uint64_t reload_good, reload_refused, api_changes, api_odd, list_changes;
} st;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rnd(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rnd_in(uint64_t *s, uint64_t lo, uint64_t hi) /* [lo, hi] */
{
    return lo + rnd(s) % (hi - lo + 1);
}

static uint64_t fnv(uint64_t h, const void *buf, size_t n)
{
    const uint8_t *b = buf;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;

    st.failures++;
    if (st.failures > 20)
        return;
    fprintf(stderr, "soak: FAIL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (seed %" PRIu64 ")\n", opt.seed);
}

/* Fatal: finwait is gone or the driver cannot go on. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    char cmd[700];

    fprintf(stderr, "soak: FAIL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (seed %" PRIu64 ")\nsoak: last lines of %s:\n", opt.seed, log_path);
    snprintf(cmd, sizeof cmd, "tail -n 30 '%s' >&2", log_path);
    if (log_path[0] && system(cmd) != 0)
        fprintf(stderr, "(no log)\n");
    if (fw_pid > 0)
        kill(fw_pid, SIGKILL);
    exit(1);
}

/* ---- finwait's log ---- */

static struct {
    long off;
    char carry[4096];
    uint64_t reloaded, refused, listening;
    bool sanitizer;
} lg;

static void log_line(const char *l)
{
    char want[600];

    snprintf(want, sizeof want, "reloaded %s:", cfg_path);
    if (strstr(l, want))
        lg.reloaded++;
    if (strstr(l, ": listening on "))
        lg.listening++;
    if (strstr(l, "reload failed"))
        lg.refused++;
    if (strstr(l, "AddressSanitizer") || strstr(l, "LeakSanitizer") ||
        strstr(l, "runtime error:")) {
        if (!lg.sanitizer)
            fail("sanitizer report in finwait's log: %s", l);
        lg.sanitizer = true;
    }
    if (!admin_port) {
        const char *a = strstr(l, "admin API (Toxiproxy's) listening on ");
        const char *c = a ? strrchr(a, ':') : NULL;
        if (c)
            admin_port = (uint16_t)atoi(c + 1);
    }
}

static void log_scan(void)
{
    FILE *fp = fopen(log_path, "r");
    char buf[65536];
    size_t n;

    if (!fp)
        return;
    fseek(fp, lg.off, SEEK_SET);
    while ((n = fread(buf, 1, sizeof buf - 1, fp)) > 0) {
        char *s = buf, *nl;
        buf[n] = '\0';
        lg.off += (long)n;
        while ((nl = memchr(s, '\n', (size_t)(buf + n - s)))) {
            *nl = '\0';
            if (lg.carry[0]) {
                char line[8192];
                snprintf(line, sizeof line, "%s%.4000s", lg.carry, s);
                lg.carry[0] = '\0';
                log_line(line);
            } else {
                log_line(s);
            }
            s = nl + 1;
        }
        if (s < buf + n)
            snprintf(lg.carry + strlen(lg.carry), sizeof lg.carry - strlen(lg.carry), "%s", s);
    }
    fclose(fp);
}

static void check_alive(void)
{
    int status;

    if (waitpid(fw_pid, &status, WNOHANG) == fw_pid) {
        fw_pid = 0;
        log_scan();
        if (WIFSIGNALED(status))
            die("finwait died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        die("finwait exited with status %d", WEXITSTATUS(status));
    }
}

/* ---- judging a flow ---- */

static void judge(struct flow *f)
{
    static const uint8_t want_c[B_COUNT] = {E_EOF, E_EOF, E_EOF, E_SELF, E_RESET, E_SELF};
    static const uint8_t want_s[B_COUNT] = {E_EOF, E_EOF, E_EOF, E_RESET, E_SELF, E_RESET};
    char why[256] = "";

    f->checked = true;
    if (!f->s_seen)
        snprintf(why, sizeof why, "the server never saw the flow");
    else if (f->c_end != want_c[f->beh] || f->s_end != want_s[f->beh])
        snprintf(why, sizeof why, "ended client %s, server %s; expected %s, %s", end_name[f->c_end],
                 end_name[f->s_end], end_name[want_c[f->beh]], end_name[want_s[f->beh]]);
    else if (f->c_tx != f->s_rx || f->c_txh != f->s_rxh)
        snprintf(why, sizeof why,
                 "upstream: client sent %" PRIu64 " bytes (hash %016" PRIx64
                 "), server read %" PRIu64 " (hash %016" PRIx64 ")",
                 f->c_tx, f->c_txh, f->s_rx, f->s_rxh);
    else if (f->beh != B_NOREAD && (f->s_tx != f->c_rx || f->s_txh != f->c_rxh))
        snprintf(why, sizeof why,
                 "downstream: server sent %" PRIu64 " bytes (hash %016" PRIx64
                 "), client read %" PRIu64 " (hash %016" PRIx64 ")",
                 f->s_tx, f->s_txh, f->c_rx, f->c_rxh);
    if (why[0]) {
        fail("flow %u (%s through %s from port %u, R=%u S=%u): %s [client: sent %" PRIu64
             ", read %" PRIu64 ", %s at %u ms; server: sent %" PRIu64 ", read %" PRIu64
             ", %s at %u ms]",
             f->id, beh_name[f->beh], targets[f->target].name, f->cport, f->r, f->s, why, f->c_tx,
             f->c_rx, f->c_err ? uv_strerror(f->c_err) : end_name[f->c_end], f->c_ms, f->s_tx,
             f->s_rx, f->s_err ? uv_strerror(f->s_err) : end_name[f->s_end], f->s_ms);
        return;
    }
    st.verified++;
    st.bytes_up += f->c_tx;
    st.bytes_down += f->beh == B_NOREAD ? 0 : f->c_rx;
}

static void flow_side_done(struct flow *f)
{
    if (f->clean && f->c_done && f->s_done && !f->checked)
        judge(f);
}

/* ---- one end of a flow ---- */

static void step(struct peer *p);

static void on_peer_closed(uv_handle_t *h)
{
    struct peer *p = h->data;

    if (--p->pending == 0) {
        if (p->server)
            live_servers--;
        free(p);
    }
}

static void finish(struct peer *p, enum end e, int err, bool reset)
{
    struct flow *f = p->f;

    if (p->closing)
        return;
    p->closing = true;
    if (f) {
        if (p->server) {
            f->s_done = true, f->s_end = (uint8_t)e, f->s_err = err;
            f->s_ms = (uint32_t)(uv_now(loop) - f->t0);
            f->s_tx = p->tx, f->s_rx = p->rx, f->s_txh = p->txh, f->s_rxh = p->rxh;
        } else {
            f->c_done = true, f->c_end = (uint8_t)e, f->c_err = err;
            f->c_ms = (uint32_t)(uv_now(loop) - f->t0);
            f->c_tx = p->tx, f->c_rx = p->rx, f->c_txh = p->txh, f->c_rxh = p->rxh;
            st.by_end_c[e]++;
            if (e == E_REFUSED)
                st.refused++;
            active--;
        }
    } else if (p->server) {
        st.orphan_servers++;
    }
    uv_close((uv_handle_t *)&p->timer, on_peer_closed);
    /* a reset is refused while a shutdown is pending: then a plain close */
    if (!reset || uv_tcp_close_reset(&p->tcp, on_peer_closed) != 0)
        uv_close((uv_handle_t *)&p->tcp, on_peer_closed);
    if (f)
        flow_side_done(f);
}

static void progress(struct peer *p)
{
    p->t_progress = uv_now(loop);
}

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct peer *p = w->p;

    free(w);
    if (p->closing)
        return;
    if (status < 0) {
        bool rst = status == UV_ECONNRESET || status == UV_EPIPE;
        finish(p, rst ? E_RESET : E_ERROR, status, false);
        return;
    }
    progress(p);
    step(p);
}

/* Queue `n` bytes (a copy of `src`, or payload when NULL). Returns 0 or a UV error. */
static int send_bytes(struct peer *p, const void *src, size_t n)
{
    struct wreq *w = malloc(sizeof *w + n);
    uv_buf_t b;
    int r;

    if (!w)
        die("out of memory");
    if (src) {
        memcpy(w->data, src, n);
    } else {
        for (size_t i = 0; i < n; i += 8) {
            uint64_t v = rnd(&p->rng);
            memcpy(w->data + i, &v, n - i < 8 ? n - i : 8);
        }
    }
    p->txh = fnv(p->txh, w->data, n);
    p->tx += n;
    w->p = p;
    b = uv_buf_init(w->data, (unsigned)n);
    r = uv_write(&w->req, (uv_stream_t *)&p->tcp, &b, 1, on_written);
    if (r < 0) {
        free(w);
        finish(p, r == UV_EPIPE || r == UV_ECONNRESET ? E_RESET : E_ERROR, r, false);
    }
    return r;
}

/* Write payload while our queue is short. */
static void pump(struct peer *p)
{
    while (!p->closing && p->tx_left && p->tcp.write_queue_size < QUEUE_LIMIT) {
        size_t n = p->tx_left < CHUNK ? (size_t)p->tx_left : CHUNK;
        p->tx_left -= n;
        if (send_bytes(p, NULL, n) < 0)
            return;
    }
}

static void on_shut(uv_shutdown_t *req, int status)
{
    struct peer *p = req->data;

    if (p->closing)
        return;
    if (status < 0) {
        finish(p, status == UV_ECONNRESET || status == UV_EPIPE ? E_RESET : E_ERROR, status, false);
        return;
    }
    p->shut_done = true;
    step(p);
}

static void shut(struct peer *p)
{
    int r;

    if (p->shut_req || p->closing)
        return;
    p->shut_req = true;
    p->sreq.data = p;
    r = uv_shutdown(&p->sreq, (uv_stream_t *)&p->tcp, on_shut);
    if (r < 0)
        finish(p, r == UV_ENOTCONN ? E_RESET : E_ERROR, r, false);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char buf[65536];
    (void)h, (void)hint;
    *b = uv_buf_init(buf, sizeof buf);
}

static void start_reading(struct peer *p);

/* The server end's payload: echo it where the script says so. */
static void server_data(struct peer *p, const char *d, size_t n)
{
    if (p->f && (p->f->beh == B_ECHO || p->f->beh == B_CLIENT_RST)) {
        send_bytes(p, d, n);
        if (!p->closing && p->tcp.write_queue_size > 4 * QUEUE_LIMIT) {
            uv_read_stop((uv_stream_t *)&p->tcp);
            p->reading = false;
        }
    }
}

/* Diagnosis of a bad header: which flow's upstream bytes, at which offset, the server end
 * read first (client payloads are regenerated from the seed, as the clients wrote them). */
/* One end's payload as it wrote it: `len` bytes in CHUNK writes from `rng`, after `skip`
 * bytes of header. */
static uint8_t *regen(uint64_t rng, uint64_t len, size_t skip)
{
    uint8_t *buf = calloc(1, skip + len + 1);
    size_t off = skip;

    while (len) {
        size_t n = len < CHUNK ? (size_t)len : CHUNK;
        for (size_t i = 0; i < n; i += 8) {
            uint64_t v = rnd(&rng);
            memcpy(buf + off + i, &v, n - i < 8 ? n - i : 8);
        }
        off += n, len -= n;
    }
    return buf;
}

/*
 * Which flow's bytes a server end read where a header should be: the flow whose upstream
 * payload holds them (*up true) or whose downstream bytes do. Only flows whose server end
 * never read a header are candidates (a server end that lost its flow's header is that flow's
 * own), which keeps the search (payloads regenerated from the seed, as the ends wrote them)
 * to the few flows in flight. With `print`, says what it found.
 */
static struct flow *find_origin(const uint8_t first[HDR_LEN], bool print, bool *up)
{
    struct flow *found = NULL;

    for (uint64_t id = 0; id < started && !found; id++) {
        struct flow *f = &flows[id];
        uint64_t up_len = f->beh == B_SERVER_RST || f->beh == B_NOREAD ? 0 : f->r;
        uint64_t down = f->beh == B_NOREAD ? (uint64_t)f->s + 65536 : f->s;
        const uint8_t *hit;
        uint8_t *buf;

        if (f->s_seen)
            continue;
        if (f->beh == B_ECHO || f->beh == B_CLIENT_RST)
            down = 0; /* the echo is the upstream bytes */
        for (int d = 0; d < 2 && !found; d++) {
            uint64_t len = d ? down : up_len;
            if (!len)
                continue;
            buf = d ? regen(opt.seed ^ (id << 20) ^ 0x5e7e7, len, 0)
                    : regen(opt.seed ^ (id << 20), len, HDR_LEN);
            hit = memmem(buf, len + (d ? 0 : HDR_LEN), first, HDR_LEN);
            if (hit) {
                found = f;
                *up = d == 0;
                if (print)
                    fprintf(stderr,
                            "soak:   those bytes are flow %" PRIu64
                            "'s (%s through %s from port %u, R=%u S=%u) %s bytes at offset %zu; "
                            "that flow's server end never read its header\n",
                            id, beh_name[f->beh], targets[f->target].name, f->cport, f->r, f->s,
                            d ? "DOWNSTREAM (server to client)" : "upstream", (size_t)(hit - buf));
            }
            free(buf);
        }
    }
    return found;
}

/* The header names the flow; a server end that reads one attaches to it. */
static void server_header(struct peer *p)
{
    uint32_t magic, id;
    struct flow *f;

    memcpy(&magic, p->hdr, 4);
    memcpy(&id, p->hdr + 4, 4);
    if (magic != HDR_MAGIC || id >= started || flows[id].s_seen) {
        bool up = false;
        struct flow *o = find_origin(p->hdr, false, &up);

        /* A blackhole or timeout that dropped a faulted flow's first bytes and was then
         * detached by a reload lets the rest through: the tail without its head, as the
         * README says of a removed blackhole. On a clean proxy it is a defect. */
        if (o && up && !targets[o->target].clean) {
            st.tails_after_detach++;
            finish(p, E_ERROR, 0, true);
            return;
        }
        fail("a server end read a bad header (magic %08x, flow %u, %" PRIu64 " bytes read, %" PRIu64
             " flows started)",
             magic, id, p->rx, started);
        if (st.failures <= 10)
            find_origin(p->hdr, true, &up);
        finish(p, E_ERROR, 0, true);
        return;
    }
    f = &flows[id];
    f->s_seen = true;
    p->f = f;
    p->rng = opt.seed ^ ((uint64_t)id << 20) ^ 0x5e7e7;
    switch (f->beh) {
    case B_SERVER_HALF:
    case B_SERVER_RST:
        p->tx_left = f->s;
        break;
    case B_NOREAD:
        p->tx_left = f->s + 65536; /* more than fits in the client's window before it closes */
        break;
    default:
        break;
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct peer *p = s->data;
    const char *d = b->base;
    size_t n;

    if (p->closing)
        return;
    if (nread == UV_EOF) {
        p->rx_eof = true;
        uv_read_stop(s);
        p->reading = false;
        progress(p);
        step(p);
        return;
    }
    if (nread < 0) {
        finish(p, nread == UV_ECONNRESET ? E_RESET : E_ERROR, (int)nread, false);
        return;
    }
    if (nread == 0)
        return;
    n = (size_t)nread;
    progress(p);
    p->rx += n;
    p->rxh = fnv(p->rxh, d, n);
    if (p->server && p->hdr_len < HDR_LEN) {
        size_t k = HDR_LEN - p->hdr_len < n ? HDR_LEN - p->hdr_len : n;
        memcpy(p->hdr + p->hdr_len, d, k);
        p->hdr_len += k;
        d += k, n -= k;
        if (p->hdr_len == HDR_LEN)
            server_header(p);
        if (p->closing)
            return;
    }
    if (p->server && n)
        server_data(p, d, n);
    if (!p->closing)
        step(p);
}

static void start_reading(struct peer *p)
{
    if (p->reading || p->rx_eof || p->closing)
        return;
    if (uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read) == 0)
        p->reading = true;
}

/* Move the script on as far as it goes: called after every event. */
static void step(struct peer *p)
{
    struct flow *f = p->f;

    if (p->closing)
        return;
    pump(p);
    if (p->closing)
        return;
    if (p->server) {
        if (!f) {
            if (p->rx_eof) /* the flow ended before its header was whole */
                finish(p, E_EOF, 0, false);
            return;
        }
        if (!p->reading && !p->rx_eof && p->tcp.write_queue_size < QUEUE_LIMIT)
            start_reading(p);
        switch (f->beh) {
        case B_ECHO:
        case B_CLIENT_RST:
            if (p->rx_eof)
                shut(p);
            if (p->shut_done)
                finish(p, E_EOF, 0, false);
            break;
        case B_CLIENT_HALF:
            if (p->rx_eof && !p->started2) {
                p->started2 = true;
                p->tx_left = f->s;
                pump(p);
            }
            if (p->started2 && !p->tx_left)
                shut(p);
            if (p->shut_done)
                finish(p, E_EOF, 0, false);
            break;
        case B_SERVER_HALF:
            if (!p->tx_left)
                shut(p);
            if (p->shut_done && p->rx_eof)
                finish(p, E_EOF, 0, false);
            break;
        case B_SERVER_RST:
            if (p->rx > HDR_LEN)
                finish(p, E_SELF, 0, true);
            else if (p->rx_eof)
                finish(p, E_EOF, 0, false);
            break;
        case B_NOREAD:
            if (!p->tx_left)
                shut(p);
            if (p->shut_done && p->rx_eof)
                finish(p, E_EOF, 0, false);
            break;
        }
        return;
    }
    switch (f->beh) {
    case B_ECHO:
    case B_CLIENT_HALF:
        if (!p->tx_left)
            shut(p);
        if (p->shut_done && p->rx_eof)
            finish(p, E_EOF, 0, false);
        break;
    case B_SERVER_HALF:
        if (p->rx_eof && !p->started2) {
            p->started2 = true;
            p->tx_left = f->r;
            pump(p);
        }
        if (p->started2 && !p->tx_left)
            shut(p);
        if (p->shut_done)
            finish(p, E_EOF, 0, false);
        break;
    case B_CLIENT_RST:
        if (!p->tx_left && p->rx >= f->r)
            finish(p, E_SELF, 0, true);
        else if (!p->tx_left && p->rx_eof)
            finish(p, E_EOF, 0, false);
        break;
    case B_SERVER_RST:
        if (p->rx >= f->s && !p->started2) {
            p->started2 = true;
            send_bytes(p, "K", 1);
        } else if (p->rx_eof) {
            finish(p, E_EOF, 0, false);
        }
        break;
    case B_NOREAD:
        break; /* the timer closes it */
    }
}

/* Idle limit, lifetime bound, and the never-reading client's close. */
static void on_peer_timer(uv_timer_t *t)
{
    struct peer *p = t->data;
    uint64_t now = uv_now(loop);
    bool clean = p->f ? p->f->clean : false;
    uint64_t idle = clean ? 10000 : 2500;

    if (p->closing)
        return;
    if (p->t_close && now >= p->t_close) {
        uv_os_fd_t fd;
        int unread = 0;
        /* close only with unread data, so that the kernel answers with an RST */
        if (uv_fileno((uv_handle_t *)&p->tcp, &fd) == 0 && ioctl(fd, FIONREAD, &unread) == 0 &&
            unread > 0) {
            finish(p, E_SELF, 0, false);
            return;
        }
    }
    if (now - p->t_start > 120000) {
        fail("a %s end of flow %d (%s) still open after 120 s: a hang",
             p->server ? "server" : "client", p->f ? (int)p->f->id : -1,
             p->f ? beh_name[p->f->beh] : "no header");
        finish(p, E_TIMEOUT, 0, true);
        return;
    }
    if (now - p->t_progress > idle) {
        if (clean)
            fail("flow %u (%s through %s): the %s end waited %" PRIu64
                 " ms for nothing (sent %" PRIu64 ", read %" PRIu64 "%s)",
                 p->f->id, beh_name[p->f->beh], targets[p->f->target].name,
                 p->server ? "server" : "client", idle, p->tx, p->rx, p->rx_eof ? ", EOF" : "");
        /* applications that give up close as often as they reset: half of them send a FIN */
        finish(p, E_TIMEOUT, 0, clean || rnd(&p->rng) % 2);
    }
}

static struct peer *peer_new(bool server)
{
    struct peer *p = calloc(1, sizeof *p);

    if (!p)
        die("out of memory");
    p->server = server;
    p->txh = p->rxh = FNV_INIT;
    uv_tcp_init(loop, &p->tcp);
    uv_timer_init(loop, &p->timer);
    p->tcp.data = p->timer.data = p;
    p->pending = 2;
    p->t_start = p->t_progress = uv_now(loop);
    uv_timer_start(&p->timer, on_peer_timer, 250, 250);
    return p;
}

static void on_accept(uv_stream_t *l, int status)
{
    struct peer *p;

    if (status < 0)
        die("accept: %s", uv_strerror(status));
    p = peer_new(true);
    live_servers++;
    if (uv_accept(l, (uv_stream_t *)&p->tcp) != 0) {
        finish(p, E_ERROR, 0, false);
        return;
    }
    uv_tcp_nodelay(&p->tcp, 1);
    start_reading(p);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct peer *p = req->data;
    struct flow *f = p->f;
    uint8_t hdr[HDR_LEN] = {0};
    uint32_t magic = HDR_MAGIC;

    if (p->closing)
        return;
    if (status < 0) {
        if (f->clean)
            fail("flow %u: connect to %s: %s", f->id, targets[f->target].name, uv_strerror(status));
        finish(p, status == UV_ECONNREFUSED ? E_REFUSED : E_ERROR, status, false);
        return;
    }
    progress(p);
    uv_tcp_nodelay(&p->tcp, 1);
    {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (uv_tcp_getsockname(&p->tcp, (struct sockaddr *)&ss, &len) == 0)
            f->cport = ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset in v6 */
    }
    memcpy(hdr, &magic, 4);
    memcpy(hdr + 4, &f->id, 4);
    hdr[8] = f->beh;
    if (send_bytes(p, hdr, sizeof hdr) < 0)
        return;
    if (f->beh == B_NOREAD)
        p->t_close = uv_now(loop) + rnd_in(&p->rng, 100, 400);
    else
        start_reading(p);
    step(p);
}

static uint32_t pick_size(uint64_t *s)
{
    uint64_t r = rnd(s) % 100;
    if (r < 70)
        return (uint32_t)rnd_in(s, 0, 4096);
    if (r < 95)
        return (uint32_t)rnd_in(s, 4097, 65536);
    return (uint32_t)rnd_in(s, 65537, 1 << 20);
}

static int pick_target(void)
{
    /* the clean proxies carry 40% of the flows: they are the ones checked byte for byte; a
     * few flows knock on a proxy that is gone or disabled */
    bool want_clean = rnd(&rng_main) % 100 < 40, absent_ok = rnd(&rng_main) % 100 < 3;

    for (;;) {
        int i = (int)(rnd(&rng_main) % (uint64_t)ntargets);
        if (targets[i].clean == want_clean && (targets[i].present || absent_ok))
            return i;
    }
}

static void start_flow(void)
{
    struct flow *f = &flows[started];
    struct peer *p;
    struct target *t;
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } a;
    uint64_t w = rnd(&rng_main) % 100, acc = 0;
    int r;

    f->id = (uint32_t)started++;
    f->t0 = uv_now(loop);
    for (f->beh = 0; f->beh < B_COUNT - 1; f->beh++)
        if (w < (acc += beh_weight[f->beh]))
            break;
    f->target = (uint8_t)pick_target();
    t = &targets[f->target];
    f->clean = t->clean;
    f->r = pick_size(&rng_main);
    f->s = pick_size(&rng_main);
    if (f->beh == B_CLIENT_RST && f->r == 0)
        f->r = 1; /* the echo of one byte shows the server read the header */
    st.by_beh[f->beh]++;
    st.clean += f->clean;
    st.faulted += !f->clean;
    active++;
    p = peer_new(false);
    p->f = f;
    p->rng = opt.seed ^ ((uint64_t)f->id << 20);
    p->tx_left = f->beh == B_SERVER_HALF || f->beh == B_SERVER_RST || f->beh == B_NOREAD ? 0 : f->r;
    p->creq.data = p;
    if (strchr(t->host, ':'))
        uv_ip6_addr(t->host, t->port, &a.v6);
    else
        uv_ip4_addr(t->host, t->port, &a.v4);
    r = uv_tcp_connect(&p->creq, &p->tcp, (struct sockaddr *)&a, on_connect);
    if (r < 0) {
        fail("flow %u: connect to %s: %s", f->id, t->name, uv_strerror(r));
        finish(p, E_ERROR, r, false);
    }
}

static void on_sched(uv_timer_t *t)
{
    static int64_t last_report, last_alive;
    int64_t now = mono_ms();

    (void)t;
    if (now - last_alive >= 100) { /* a finwait that died fails the run at once */
        last_alive = now;
        check_alive();
    }
    while (started < opt.n && active < opt.conc)
        start_flow();
    if (now - last_report >= 10000) {
        last_report = now;
        fprintf(stderr,
                "soak: %6.1f s: %" PRIu64 " flows started, %" PRIu64 " open, %" PRIu64
                " verified, %" PRIu64 " failures\n",
                (double)(now - t0_ms) / 1000, started, active, st.verified, st.failures);
    }
    if ((uint64_t)(now - t0_ms) > opt.deadline_s * 1000ull)
        die("deadline of %u s passed with %" PRIu64 " of %" PRIu64 " flows started, %" PRIu64
            " open",
            opt.deadline_s, started, opt.n, active);
    if (started == opt.n && active == 0 && live_servers == 0)
        uv_stop(loop);
}

/* ---- the admin API: one HTTP/1.1 request per connection ---- */

/* Returns the status (0 if no answer); *out gets the JSON body when asked. */
static int http(const char *method, const char *path, const char *body, json_t **out)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(admin_port)};
    struct timeval tv = {.tv_sec = 5};
    char req[8192], *resp;
    size_t len = 0, cap = 1 << 20, blen = body ? strlen(body) : 0;
    int fd, status = 0;
    const char *b;

    if (out)
        *out = NULL;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return 0;
    }
    snprintf(req, sizeof req,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: "
             "application/json\r\nContent-Length: %zu\r\n\r\n",
             method, path, blen);
    if (write(fd, req, strlen(req)) < 0 || (blen && write(fd, body, blen) != (ssize_t)blen)) {
        close(fd);
        return 0;
    }
    resp = malloc(cap + 1);
    for (;;) {
        ssize_t n = read(fd, resp + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    resp[len] = '\0';
    close(fd);
    if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
        status = 0;
    b = strstr(resp, "\r\n\r\n");
    if (out && b && b[4]) {
        json_error_t e;
        *out = json_loads(b + 4, 0, &e);
    }
    free(resp);
    return status;
}

/* A request whose status must be `want`; a mismatch is a failure with the answer. */
static bool api(int want, const char *method, const char *path, const char *body)
{
    json_t *j = NULL;
    int got = http(method, path, body, &j);

    check_alive();
    st.api_changes++;
    if (got != want) {
        char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        fail("admin API %s %s %s: status %d, expected %d: %s", method, path, body ? body : "", got,
             want, txt ? txt : "(no JSON body)");
        free(txt);
    }
    json_decref(j);
    return got == want;
}

/* ---- configurations ---- */

enum { T_CLEAN1, T_CLEAN2, T_F1, T_F2, T_F3, T_F4, T_TOXAPI, T_EXTRA1, T_EXTRA2, T_NFIXED };
static const char *const fixed_names[T_NFIXED] = {"clean1", "clean2", "fault1", "fault2", "fault3",
                                                  "fault4", "toxapi", "extra1", "extra2"};

/* A fault type the run uses (not named in --without). */
static bool use(const char *type)
{
    const char *w = opt.without;
    size_t n = strlen(type);

    while (w && *w) {
        const char *e = strchr(w, ',');
        size_t len = e ? (size_t)(e - w) : strlen(w);
        if (len == n && strncmp(w, type, n) == 0)
            return false;
        w = e ? e + 1 : NULL;
    }
    return true;
}

static const char *dir_name(uint64_t *s)
{
    static const char *const d[] = {"upstream", "downstream", "both"};
    return d[rnd(s) % 3];
}

/* Every fault type at a random probability, short durations so flows end. At most one of the
 * FIN-deciding faults, one fault per type: any combination is valid. */
static void gen_faults(FILE *o, uint64_t *s, unsigned gen, bool fin_forever)
{
    double pr = 0.05 + (double)(rnd(s) % 20) / 100;

#define P() (0.03 + (double)(rnd(s) % 15) / 100)
    switch (rnd(s) % 5) {
    case 0:
        if (!use("delay_fin"))
            break;
        if (fin_forever && rnd(s) % 2 == 0)
            fprintf(o,
                    "      - {type: delay_fin, name: dfin-g%u, probability: %.2f, direction: %s, "
                    "delay: forever}\n",
                    gen, P(), dir_name(s));
        else
            fprintf(o,
                    "      - {type: delay_fin, name: dfin-g%u, probability: %.2f, direction: %s, "
                    "delay: %" PRIu64 "ms}\n",
                    gen, pr, dir_name(s), rnd_in(s, 5, 300));
        break;
    case 1:
        if (use("rst_instead_of_fin"))
            fprintf(o,
                    "      - {type: rst_instead_of_fin, name: rif-g%u, probability: %.2f, "
                    "direction: %s}\n",
                    gen, pr, dir_name(s));
        break;
    case 2:
        if (use("break_half_close"))
            fprintf(
                o,
                "      - {type: break_half_close, name: bhc-g%u, probability: %.2f, delay: %" PRIu64
                "ms}\n",
                gen, pr, rnd(s) % 2 ? 0 : rnd_in(s, 1, 100));
        break;
    case 3:
        if (use("slow_close"))
            fprintf(o,
                    "      - {type: slow_close, name: slc-g%u, toxicity: %.2f, stream: %s, delay: "
                    "%" PRIu64 "}\n",
                    gen, pr, dir_name(s), rnd_in(s, 5, 300));
        break;
    default:
        break;
    }
    static const char *const to[] = {"client", "server", "both"};
    if (use("reset") && rnd(s) % 2)
        fprintf(o,
                "      - {type: reset, name: rst-g%u, probability: %.2f, direction: %s, to: %s, "
                "after_bytes: %" PRIu64 "}\n",
                gen, P(), dir_name(s), to[rnd(s) % 3], rnd_in(s, 0, 100000));
    else if (use("reset"))
        fprintf(o,
                "      - {type: reset, name: rst-g%u, probability: %.2f, to: %s, after: %" PRIu64
                "ms}\n",
                gen, P(), to[rnd(s) % 3], rnd_in(s, 0, 300));
    if (use("close") && rnd(s) % 2)
        fprintf(o,
                "      - {type: close, name: cls-g%u, probability: %.2f, direction: %s, to: %s, "
                "after_bytes: %" PRIu64 "}\n",
                gen, P(), dir_name(s), to[rnd(s) % 3], rnd_in(s, 0, 100000));
    else if (use("close"))
        fprintf(o,
                "      - {type: close, name: cls-g%u, probability: %.2f, to: %s, after: %" PRIu64
                "ms}\n",
                gen, P(), to[rnd(s) % 3], rnd_in(s, 0, 300));
    if (use("blackhole"))
        fprintf(o,
                "      - {type: blackhole, name: bh-g%u, probability: %.2f, direction: %s, after: "
                "%" PRIu64 "ms}\n",
                gen, P() / 3, dir_name(s), rnd_in(s, 0, 200));
    uint64_t lat = rnd_in(s, 1, 30);
    if (use("latency"))
        fprintf(
            o,
            "      - {type: latency, name: lat-g%u, toxicity: %.2f, stream: %s, latency: %" PRIu64
            ", jitter: %" PRIu64 "}\n",
            gen, P(), dir_name(s), lat, rnd_in(s, 0, lat / 2));
    if (use("bandwidth"))
        fprintf(o,
                "      - {type: bandwidth, name: bw-g%u, toxicity: %.2f, stream: %s, rate: %" PRIu64
                "}\n",
                gen, P(), dir_name(s), rnd_in(s, 1000, 20000));
    uint64_t avg = rnd_in(s, 256, 4096);
    if (use("slicer"))
        fprintf(o,
                "      - {type: slicer, name: sl-g%u, toxicity: %.2f, stream: %s, average_size: "
                "%" PRIu64 ", size_variation: %" PRIu64 ", delay: %" PRIu64 "}\n",
                gen, P(), dir_name(s), avg, rnd_in(s, 0, avg - 1), rnd_in(s, 0, 500));
    if (use("limit_data"))
        fprintf(
            o,
            "      - {type: limit_data, name: lim-g%u, toxicity: %.2f, stream: %s, bytes: %" PRIu64
            "}\n",
            gen, P(), dir_name(s), rnd_in(s, 0, 200000));
    if (use("timeout"))
        fprintf(
            o,
            "      - {type: timeout, name: to-g%u, toxicity: %.2f, stream: %s, timeout: %" PRIu64
            "}\n",
            gen, P() / 2, dir_name(s), rnd_in(s, 50, 1500));
    if (use("reset_peer"))
        fprintf(
            o,
            "      - {type: reset_peer, name: rp-g%u, toxicity: %.2f, stream: %s, timeout: %" PRIu64
            "}\n",
            gen, P(), dir_name(s), rnd_in(s, 50, 1500));
#undef P
}

/* ---- admin API changes ---- */

static struct {
    char names[16][32];
    bool fin[16]; /* a FIN-deciding fault */
    int n;
    bool enabled;
    int api_proxies[8]; /* ids of api-N proxies that exist */
    int napi, next_api;
} tox;

/* What the last configuration said (the driver's model of the running one). */
struct model {
    bool present[T_NFIXED];
    bool enabled[T_NFIXED];
    bool f1_tagged; /* fault1 has faults named after the generation */
    unsigned gen;
};
static struct model running, pending_model;

static const char *broken_bits[] = {
    "      - {type: latency, name: bad, latncy: 5}\n",
    "      - {type: slicer, name: bad, average_size: 10, size_variation: 20}\n",
    "      - {type: delay_fin, name: bad, probability: 1.5, delay: 1s}\n",
    "      - {type: teleport, name: bad}\n",
    "      - {type: reset, name: bad, after: 1s, after_bytes: 10}\n",
    "    faults: [oops\n",
};

/* Write configuration `gen`: `broken` puts one error in it; `list` lets the proxy list
 * change (proxies removed, disabled, inserted among the others). */
static void write_config(unsigned gen, bool broken, bool list, struct model *m)
{
    char tmp[600], keep[600];
    uint64_t s = opt.seed * 1000003u + gen;
    FILE *o;
    int order[T_NFIXED], n = 0;

    snprintf(tmp, sizeof tmp, "%s.tmp", cfg_path);
    o = fopen(tmp, "w");
    if (!o)
        die("%s: %s", tmp, strerror(errno));
    memset(m, 0, sizeof *m);
    m->gen = gen;
    fprintf(o,
            "# soak configuration %u%s\nlog: {level: %s, timeline: false}\n"
            "shutdown_timeout: 3s\nseed: %" PRIu64 "\nadmin: {listen: 127.0.0.1:0}\nproxies:\n",
            gen, broken ? " (broken on purpose)" : "",
            getenv("SOAK_LOG_LEVEL") ? getenv("SOAK_LOG_LEVEL") : "warn", opt.seed + (gen % 2));
    for (int i = 0; i < T_NFIXED; i++) {
        bool extra = i == T_EXTRA1 || i == T_EXTRA2;
        if (extra && !(list && rnd(&s) % 2))
            continue;
        if (list && (i == T_F3 || i == T_F4) && rnd(&s) % 3 == 0)
            continue;
        order[n++] = i;
    }
    /* inserted proxies land anywhere among the faulted ones: lists change in the middle */
    if (list)
        for (int i = n - 1; i > 2; i--) {
            int j = 2 + (int)(rnd(&s) % (uint64_t)(i - 1));
            int t = order[i];
            order[i] = order[j], order[j] = t;
        }
    for (int k = 0; k < n; k++) {
        int i = order[k];
        bool en = !(list && i >= T_F3 && i != T_TOXAPI && rnd(&s) % 4 == 0);
        m->present[i] = true;
        m->enabled[i] = en;
        fprintf(o, "  - name: %s\n    listen: '%s:%u'\n    upstream: 127.0.0.1:%u\n",
                fixed_names[i], i == T_CLEAN2 ? "[::1]" : "127.0.0.1", base_port + i, srv_port);
        if (!en)
            fprintf(o, "    enabled: false\n");
        if (i == T_F2)
            fprintf(o, "    idle_timeout: 2s\n");
        if (i == T_CLEAN1 || i == T_CLEAN2 || i == T_TOXAPI) {
            fprintf(o, "    faults: []\n");
        } else if (i == T_F4 && use("refuse") && rnd(&s) % 3 == 0) {
            fprintf(
                o,
                "    faults:\n      - {type: refuse, name: ref-g%u, probability: 0.3, mode: %s}\n",
                gen, rnd(&s) % 2 ? "reset" : "close");
        } else {
            long at;
            fprintf(o, "    faults:\n");
            at = ftell(o);
            gen_faults(o, &s, gen, opt.forever);
            if (ftell(o) == at) /* every type left out */
                fprintf(o, "      []\n");
            else if (i == T_F1)
                m->f1_tagged = true;
        }
        if (broken && i == T_F1)
            fputs(broken_bits[rnd(&s) % (sizeof broken_bits / sizeof *broken_bits)], o);
    }
    if (fclose(o) != 0)
        die("%s: %s", tmp, strerror(errno));
    /* every generation stays in the work directory: a failure names the one to replay */
    snprintf(keep, sizeof keep, "%s/config-%u.yaml", opt.dir, gen);
    unlink(keep);
    if (link(tmp, keep) != 0 || rename(tmp, cfg_path) != 0)
        die("%s: %s", cfg_path, strerror(errno));
}

static void apply_model(const struct model *m)
{
    running = *m;
    for (int i = 0; i < ntargets; i++)
        targets[i].present = m->present[i] && m->enabled[i];
}

/* GET /proxies must show the running model: every proxy, enabled as said, and fault1's
 * faults of generation `gen`. */
static void verify_running(const char *when)
{
    json_t *j = NULL, *f1, *tx, *it;
    int stt = http("GET", "/proxies", NULL, &j);
    char tag[32];
    bool tagged = false;
    size_t i;
    const char *name;

    if (stt != 200 || !json_is_object(j)) {
        fail("%s: GET /proxies answered %d", when, stt);
        json_decref(j);
        return;
    }
    for (int k = 0; k < T_NFIXED; k++) {
        json_t *p = json_object_get(j, fixed_names[k]);
        if (!!p != running.present[k])
            fail("%s: proxy %s is %s, expected %s", when, fixed_names[k], p ? "there" : "missing",
                 running.present[k] ? "there" : "gone");
        else if (p && json_is_true(json_object_get(p, "enabled")) !=
                          (running.enabled[k] && (k != T_TOXAPI || tox.enabled)))
            fail("%s: proxy %s enabled=%d, expected %d", when, fixed_names[k],
                 json_is_true(json_object_get(p, "enabled")), running.enabled[k]);
    }
    json_object_foreach(j, name, it)
    {
        bool known = false;
        for (int k = 0; k < T_NFIXED; k++)
            known |= strcmp(name, fixed_names[k]) == 0;
        for (int k = 0; k < tox.napi; k++) { /* a refused reload keeps the API's proxies */
            char api_name[32];
            snprintf(api_name, sizeof api_name, "api-%d", tox.api_proxies[k]);
            known |= strcmp(name, api_name) == 0;
        }
        if (!known)
            fail("%s: unexpected proxy %s after a file reload", when, name);
    }
    snprintf(tag, sizeof tag, "-g%u", running.gen);
    f1 = json_object_get(j, "fault1");
    tx = json_object_get(f1, "toxics");
    json_array_foreach(tx, i, it)
    {
        const char *n = json_string_value(json_object_get(it, "name"));
        size_t nl = n ? strlen(n) : 0, tl = strlen(tag);
        if (nl > tl && strcmp(n + nl - tl, tag) == 0)
            tagged = true;
    }
    if (!tagged && running.f1_tagged)
        fail("%s: fault1's faults are not those of configuration %u", when, running.gen);
    json_decref(j);
}

static void tox_reset(void)
{
    tox.n = 0;
    tox.enabled = true;
    tox.napi = 0;
}

static const char *const tox_types[] = {"latency",    "bandwidth", "slicer",
                                        "limit_data", "timeout",   "reset_peer",
                                        "slow_close", "delay_fin", "rst_instead_of_fin",
                                        "reset",      "close",     "blackhole"};

static void tox_attrs(const char *type, uint64_t *s, char *out, size_t len)
{
    if (!strcmp(type, "latency"))
        snprintf(out, len, "{\"latency\": %" PRIu64 ", \"jitter\": 1}", rnd_in(s, 2, 20));
    else if (!strcmp(type, "bandwidth"))
        snprintf(out, len, "{\"rate\": %" PRIu64 "}", rnd_in(s, 1000, 20000));
    else if (!strcmp(type, "slicer"))
        snprintf(out, len,
                 "{\"average_size\": %" PRIu64 ", \"size_variation\": 32, \"delay\": %" PRIu64 "}",
                 rnd_in(s, 64, 2048), rnd_in(s, 0, 300));
    else if (!strcmp(type, "limit_data"))
        snprintf(out, len, "{\"bytes\": %" PRIu64 "}", rnd_in(s, 0, 100000));
    else if (!strcmp(type, "timeout") || !strcmp(type, "reset_peer"))
        snprintf(out, len, "{\"timeout\": %" PRIu64 "}", rnd_in(s, 50, 1000));
    else if (!strcmp(type, "slow_close") || !strcmp(type, "delay_fin"))
        snprintf(out, len, "{\"delay\": %" PRIu64 "}", rnd_in(s, 5, 300));
    else if (!strcmp(type, "reset") || !strcmp(type, "close"))
        snprintf(out, len, "{\"after_bytes\": %" PRIu64 "}", rnd_in(s, 0, 50000));
    else if (!strcmp(type, "blackhole"))
        snprintf(out, len, "{\"after\": %" PRIu64 "}", rnd_in(s, 0, 100));
    else
        snprintf(out, len, "{}");
}

static bool is_fin_type(const char *t)
{
    return !strcmp(t, "slow_close") || !strcmp(t, "delay_fin") || !strcmp(t, "rst_instead_of_fin");
}

/* Odd requests: each must get a 4xx and leave finwait running. */
static const struct {
    const char *method, *path, *body;
} odd[] = {
    {"POST", "/proxies", "{"},
    {"POST", "/proxies", "[]"},
    {"POST", "/proxies", "{\"name\": 7, \"listen\": \"127.0.0.1:0\", \"upstream\": \"x:1\"}"},
    {"POST", "/proxies", "{\"name\": \"\", \"listen\": \"127.0.0.1:0\", \"upstream\": \"x:1\"}"},
    {"POST", "/proxies",
     "{\"name\": \"o\", \"listen\": \"127.0.0.1:99999\", \"upstream\": \"x:1\"}"},
    {"POST", "/proxies", "{\"name\": \"o\", \"listen\": \"nohost\", \"upstream\": \"x:1\"}"},
    {"POST", "/proxies/toxapi/toxics",
     "{\"type\": \"latency\", \"attributes\": {\"latency\": -5}}"},
    {"POST", "/proxies/toxapi/toxics",
     "{\"type\": \"latency\", \"attributes\": {\"latency\": 1e308}}"},
    {"POST", "/proxies/toxapi/toxics", "{\"type\": \"latency\", \"toxicity\": \"x\"}"},
    {"POST", "/proxies/toxapi/toxics", "{\"type\": \"latency\", \"stream\": \"sideways\"}"},
    {"POST", "/proxies/toxapi/toxics", "{\"type\": \"nope\"}"},
    {"POST", "/proxies/toxapi/toxics",
     "{\"type\": \"slicer\", \"attributes\": {\"average_size\": 0}}"},
    {"POST", "/proxies/toxapi/toxics", "{\"type\": \"latency\", \"attributes\": [1, 2]}"},
    {"POST", "/proxies/toxapi/toxics",
     "{\"type\": \"latency\", \"attributes\": {\"latency\": {\"a\": [[[]]]}}}"},
    {"POST", "/proxies/toxapi/toxics", "{\"type\": null}"},
    {"POST", "/proxies/toxapi/toxics", "\"just a string\""},
    {"POST", "/proxies/toxapi/toxics/nosuch", "{\"toxicity\": 0.5}"},
    {"DELETE", "/proxies/toxapi/toxics/nosuch", NULL},
    {"DELETE", "/proxies/nosuch", NULL},
    {"GET", "/proxies/nosuch/toxics", NULL},
    {"POST", "/proxies/toxapi", "{\"enabled\": \"yes\"}"},
    {"POST", "/proxies/toxapi", "{\"listen\": 5}"},
    {"POST", "/populate", "{\"not\": \"an array\"}"},
    {"POST", "/populate", "[{\"name\": \"p\"}]"},
    {"POST", "/populate", "[1, 2, 3]"},
    {"POST", "/proxies/toxapi/toxics", "{\"type\": \"latency\", \"name\": \"a/b\"}"},
    {"POST", "/proxies/toxapi/toxics", "{\"type\": \"latency\", \"name\": \"\\u0000x\"}"},
};

static void api_step(uint64_t *s)
{
    char body[1024], path[256], attrs[256];
    unsigned what = (unsigned)(rnd(s) % 100);

    if (opt.odd_api && what < 10) {
        size_t k = rnd(s) % (sizeof odd / sizeof *odd);
        json_t *j = NULL;
        int got = http(odd[k].method, odd[k].path, odd[k].body, &j);
        check_alive();
        st.api_odd++;
        if (got < 400 || got > 499) {
            char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
            fail("admin API %s %s %s: status %d, expected a 4xx: %s", odd[k].method, odd[k].path,
                 odd[k].body ? odd[k].body : "", got, t ? t : "");
            free(t);
        }
        json_decref(j);
        return;
    }
    if (what < 45 && tox.n < 10) { /* add a toxic of a type not there yet */
        const char *type = tox_types[rnd(s) % (sizeof tox_types / sizeof *tox_types)];
        bool has_fin = false;
        char name[32];
        for (int i = 0; i < tox.n; i++) {
            has_fin |= tox.fin[i];
            if (strncmp(tox.names[i], type, strlen(type)) == 0 && tox.names[i][strlen(type)] == '-')
                return; /* one per type: two would be refused */
        }
        if ((is_fin_type(type) && has_fin) || !use(type))
            return;
        snprintf(name, sizeof name, "%s-%u", type, (unsigned)(rnd(s) % 1000));
        tox_attrs(type, s, attrs, sizeof attrs);
        snprintf(body, sizeof body,
                 "{\"name\": \"%s\", \"type\": \"%s\", \"stream\": \"%s\", \"toxicity\": %.2f, "
                 "\"attributes\": %s}",
                 name, type, rnd(s) % 2 ? "upstream" : "downstream",
                 0.2 + (double)(rnd(s) % 60) / 100, attrs);
        if (api(200, "POST", "/proxies/toxapi/toxics", body)) {
            snprintf(tox.names[tox.n], sizeof tox.names[0], "%s", name);
            tox.fin[tox.n++] = is_fin_type(type);
        }
    } else if (what < 60 && tox.n) { /* change one */
        int i = (int)(rnd(s) % (uint64_t)tox.n);
        snprintf(path, sizeof path, "/proxies/toxapi/toxics/%s", tox.names[i]);
        snprintf(body, sizeof body, "{\"toxicity\": %.2f}", (double)(rnd(s) % 100) / 100);
        api(200, "POST", path, body);
    } else if (what < 80 && tox.n) { /* remove one */
        int i = (int)(rnd(s) % (uint64_t)tox.n);
        snprintf(path, sizeof path, "/proxies/toxapi/toxics/%s", tox.names[i]);
        if (api(204, "DELETE", path, NULL)) {
            tox.n--;
            memmove(tox.names[i], tox.names[i + 1], sizeof tox.names[0] * (size_t)(tox.n - i));
            memmove(&tox.fin[i], &tox.fin[i + 1], sizeof tox.fin[0] * (size_t)(tox.n - i));
        }
    } else if (what < 88) { /* disable or enable */
        snprintf(body, sizeof body, "{\"enabled\": %s}", tox.enabled ? "false" : "true");
        if (api(200, "POST", "/proxies/toxapi", body)) {
            tox.enabled = !tox.enabled;
            targets[T_TOXAPI].present = tox.enabled;
        }
    } else if (opt.list_changes && what < 94 && tox.napi < 8) { /* a proxy of the API's own */
        int id = tox.next_api++;
        snprintf(
            body, sizeof body,
            "{\"name\": \"api-%d\", \"listen\": \"127.0.0.1:0\", \"upstream\": \"127.0.0.1:%u\"}",
            id, srv_port);
        if (api(201, "POST", "/proxies", body))
            tox.api_proxies[tox.napi++] = id;
        st.list_changes++;
    } else if (opt.list_changes && tox.napi) {
        int i = (int)(rnd(s) % (uint64_t)tox.napi);
        snprintf(path, sizeof path, "/proxies/api-%d", tox.api_proxies[i]);
        if (api(204, "DELETE", path, NULL))
            tox.api_proxies[i] = tox.api_proxies[--tox.napi];
        st.list_changes++;
    } else {
        api(200, "GET", "/proxies", NULL);
    }
}

/* ---- the control cycle ---- */

static struct {
    unsigned cycle;
    bool waiting, broken, stopping;
    uint64_t want_ok, want_refused, base_ok;
    int64_t since;
    uint64_t rng;
} ctl;

static void send_reload(bool broken, bool list)
{
    unsigned gen = ++ctl.cycle;

    log_scan();
    ctl.base_ok = lg.reloaded;
    ctl.want_ok = lg.reloaded + !broken;
    ctl.want_refused = lg.refused + broken;
    ctl.broken = broken;
    write_config(gen, broken, list, &pending_model);
    if (kill(fw_pid, SIGHUP) != 0)
        check_alive();
    ctl.waiting = true;
    ctl.since = mono_ms();
}

/* True once finwait answered the last SIGHUP (then the model is updated). */
static bool reload_answered(void)
{
    log_scan();
    if (ctl.broken && lg.reloaded > ctl.base_ok)
        die("configuration %u is broken but finwait reloaded it", ctl.cycle);
    if ((ctl.broken && lg.refused >= ctl.want_refused) ||
        (!ctl.broken && lg.reloaded >= ctl.want_ok)) {
        ctl.waiting = false;
        if (ctl.broken) {
            st.reload_refused++;
            verify_running("after a refused reload");
        } else {
            st.reload_good++;
            apply_model(&pending_model);
            tox_reset();
            verify_running("after a reload");
        }
        return true;
    }
    if (!ctl.broken && lg.refused >= ctl.want_refused + 1)
        die("finwait refused good configuration %u (%s)", ctl.cycle, cfg_path);
    if (mono_ms() - ctl.since > 10000)
        die("no verdict on configuration %u 10 s after SIGHUP", ctl.cycle);
    return false;
}

static void on_ctl(uv_timer_t *t)
{
    static int64_t next;
    int64_t now = mono_ms();

    (void)t;
    if (!next)
        next = now + opt.reload_ms;
    check_alive();
    if (ctl.waiting) {
        if (!reload_answered())
            return;
        for (int i = 0; i < 4; i++)
            api_step(&ctl.rng);
    }
    if (ctl.stopping || now < next)
        return;
    next = now + opt.reload_ms;
    send_reload(ctl.cycle % 3 == 2, opt.list_changes);
}

/* ---- finwait, its resources, the end ---- */

static int fd_count(void)
{
    char path[64], cmd[128];
    int n = 0;
    FILE *p;

    snprintf(path, sizeof path, "/proc/%d/fd", (int)fw_pid);
    snprintf(cmd, sizeof cmd, "ls -1 %s 2>/dev/null | wc -l", path);
    p = popen(cmd, "r");
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

static long rss_kib(void)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", (int)fw_pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static bool port_is_ours(unsigned port)
{
    return port == srv_port || port == admin_port ||
           (port >= base_port && port < (unsigned)base_port + MAX_PORTS);
}

/* Sockets on finwait's ports in a state other than LISTEN or TIME-WAIT: prints them (when
 * `show`) and returns how many. */
static int ss_leftovers(bool show)
{
    FILE *p = popen("ss -tanH", "r");
    char line[512];
    int bad = 0;

    if (!p)
        die("ss: %s", strerror(errno));
    while (fgets(line, sizeof line, p)) {
        char state[32], local[128], peer[128];
        unsigned rq, sq;
        const char *lc, *pc;
        if (sscanf(line, "%31s %u %u %127s %127s", state, &rq, &sq, local, peer) != 5)
            continue;
        lc = strrchr(local, ':'), pc = strrchr(peer, ':');
        if (!lc || !pc ||
            (!port_is_ours((unsigned)atoi(lc + 1)) && !port_is_ours((unsigned)atoi(pc + 1))))
            continue;
        if (!strcmp(state, "LISTEN") || !strcmp(state, "TIME-WAIT"))
            continue;
        if (show && bad < 20)
            fprintf(stderr, "soak:   left: %s", line);
        bad++;
    }
    pclose(p);
    return bad;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static uint16_t free_base(void)
{
    unsigned low = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    uint64_t s = opt.seed ^ (uint64_t)getpid();

    if (f) {
        if (fscanf(f, "%u", &low) != 1)
            low = 32768;
        fclose(f);
    }
    /* below the ephemeral range: no client socket of ours can hold one of these ports */
    for (int tries = 0; tries < 200; tries++) {
        uint16_t b = (uint16_t)rnd_in(&s, 10000, low - MAX_PORTS - 1);
        bool ok = true;
        for (int i = 0; i < MAX_PORTS && ok; i++) {
            for (int fam = 0; fam < 2 && ok; fam++) {
                int fd = socket(fam ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(b + i)};
                struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(b + i)};
                a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                a6.sin6_addr = in6addr_loopback;
                ok = bind(fd, fam ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4,
                          fam ? sizeof a6 : sizeof a4) == 0;
                close(fd);
            }
        }
        if (ok)
            return b;
    }
    die("no 16 free ports below %u", low);
}

static void start_finwait(uint64_t want_listen)
{
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int64_t end = mono_ms() + 15000;

    if (fd < 0)
        die("%s: %s", log_path, strerror(errno));
    fw_pid = fork();
    if (fw_pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execl(opt.finwait, opt.finwait, "-c", cfg_path, (char *)NULL);
        _exit(127);
    }
    close(fd);
    while (!admin_port || lg.listening < want_listen) {
        log_scan();
        check_alive();
        if (mono_ms() > end)
            die("finwait did not start within 15 s");
        sleep_ms(20);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: soak --finwait PATH --dir DIR [-n N] [--concurrency C] [--seed S]\n"
            "            [--deadline SECONDS] [--reload-every MS] [--rss-slack-mib M]\n"
            "            [--no-list-changes] [--no-forever] [--no-odd-api] [--without TYPE,...]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct option lo[] = {{"finwait", required_argument, NULL, 'f'},
                                       {"dir", required_argument, NULL, 'd'},
                                       {"n", required_argument, NULL, 'n'},
                                       {"concurrency", required_argument, NULL, 'c'},
                                       {"seed", required_argument, NULL, 's'},
                                       {"deadline", required_argument, NULL, 'D'},
                                       {"reload-every", required_argument, NULL, 'r'},
                                       {"rss-slack-mib", required_argument, NULL, 'm'},
                                       {"no-list-changes", no_argument, NULL, 'L'},
                                       {"no-forever", no_argument, NULL, 'F'},
                                       {"no-odd-api", no_argument, NULL, 'O'},
                                       {"without", required_argument, NULL, 'W'},
                                       {NULL, 0, NULL, 0}};
    int c;
    bool seeded = false;

    while ((c = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
        switch (c) {
        case 'f':
            opt.finwait = optarg;
            break;
        case 'd':
            opt.dir = optarg;
            break;
        case 'n':
            opt.n = strtoull(optarg, NULL, 10);
            break;
        case 'c':
            opt.conc = strtoull(optarg, NULL, 10);
            break;
        case 's':
            opt.seed = strtoull(optarg, NULL, 10), seeded = true;
            break;
        case 'D':
            opt.deadline_s = (unsigned)atoi(optarg);
            break;
        case 'r':
            opt.reload_ms = (unsigned)atoi(optarg);
            break;
        case 'm':
            opt.rss_slack_mib = (unsigned)atoi(optarg);
            break;
        case 'L':
            opt.list_changes = false;
            break;
        case 'F':
            opt.forever = false;
            break;
        case 'O':
            opt.odd_api = false;
            break;
        case 'W':
            opt.without = optarg;
            break;
        default:
            usage();
        }
    }
    if (!opt.finwait || !opt.dir || optind != argc || !opt.n || !opt.conc || !opt.reload_ms)
        usage();
    if (!seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        opt.seed = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
        opt.seed %= 1000000000000ull;
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in a;
    int fd0, fd1 = -1, status, leftovers, r;
    long rss0, rss1 = -1;
    int64_t t_end, elapsed;
    struct model m0;

    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    fprintf(
        stderr,
        "soak: seed %" PRIu64 ", %" PRIu64 " connections, %" PRIu64
        " at once, reload every %u ms, list changes %s, forever FINs %s, odd API input %s%s%s\n",
        opt.seed, opt.n, opt.conc, opt.reload_ms, opt.list_changes ? "on" : "off",
        opt.forever ? "on" : "off", opt.odd_api ? "on" : "off", opt.without ? ", without " : "",
        opt.without ? opt.without : "");
    rng_main = opt.seed;
    ctl.rng = opt.seed ^ 0xc0ffee;
    flows = calloc(opt.n, sizeof *flows);
    if (!flows)
        die("out of memory for %" PRIu64 " flows", opt.n);
    snprintf(cfg_path, sizeof cfg_path, "%s/finwait.yaml", opt.dir);
    snprintf(log_path, sizeof log_path, "%s/finwait.log", opt.dir);
    loop = uv_default_loop();

    /* the server every proxy forwards to */
    uv_tcp_init(loop, &srv4);
    uv_ip4_addr("127.0.0.1", 0, &a);
    if ((r = uv_tcp_bind(&srv4, (struct sockaddr *)&a, 0)) < 0 ||
        (r = uv_listen((uv_stream_t *)&srv4, 4096, on_accept)) < 0)
        die("server: %s", uv_strerror(r));
    {
        int len = sizeof a;
        uv_tcp_getsockname(&srv4, (struct sockaddr *)&a, &len);
        srv_port = ntohs(a.sin_port);
    }
    base_port = free_base();
    for (int i = 0; i < T_NFIXED; i++) {
        struct target *t = &targets[ntargets++];
        snprintf(t->name, sizeof t->name, "%s", fixed_names[i]);
        snprintf(t->host, sizeof t->host, "%s", i == T_CLEAN2 ? "::1" : "127.0.0.1");
        t->port = (uint16_t)(base_port + i);
        t->clean = i == T_CLEAN1 || i == T_CLEAN2;
    }
    write_config(0, false, false, &m0);
    apply_model(&m0);
    tox_reset();
    start_finwait(7);
    sleep_ms(200); /* let start-up allocations settle before the baseline */
    fd0 = fd_count();
    rss0 = rss_kib();
    fprintf(stderr,
            "soak: finwait pid %d, proxies on 127.0.0.1/[::1]:%u-%u, server :%u, admin :%u, "
            "baseline %d fds, %ld KiB RSS\n",
            (int)fw_pid, base_port, base_port + T_NFIXED - 1, srv_port, admin_port, fd0, rss0);
    verify_running("at start");

    t0_ms = mono_ms();
    uv_timer_init(loop, &sched_timer);
    uv_timer_start(&sched_timer, on_sched, 0, 5);
    uv_timer_init(loop, &ctl_timer);
    uv_timer_start(&ctl_timer, on_ctl, 20, 20);
    uv_run(loop, UV_RUN_DEFAULT);
    t_end = mono_ms();

    /* the end: the last reload answered, then the first configuration again */
    while (ctl.waiting) {
        check_alive();
        if (!reload_answered())
            sleep_ms(20);
    }
    log_scan();
    ctl.base_ok = lg.reloaded;
    write_config(0, false, false, &m0);
    kill(fw_pid, SIGHUP);
    for (int64_t end = mono_ms() + 10000; lg.reloaded == ctl.base_ok; sleep_ms(20)) {
        log_scan();
        check_alive();
        if (mono_ms() > end)
            die("the final reload was not answered within 10 s");
    }
    apply_model(&m0);
    tox_reset();
    verify_running("after the final reload");

    /* connections drain: finwait's descriptors back to the baseline */
    for (int64_t end = mono_ms() + 30000; mono_ms() < end; sleep_ms(100)) {
        check_alive();
        if ((fd1 = fd_count()) == fd0)
            break;
    }
    rss1 = rss_kib();
    for (int64_t end = mono_ms() + 15000; mono_ms() < end; sleep_ms(200))
        if (ss_leftovers(false) == 0)
            break;
    leftovers = ss_leftovers(true);
    if (fd1 != fd0) {
        char cmd[512];
        fail("finwait holds %d descriptors, %d at start", fd1, fd0);
        snprintf(cmd, sizeof cmd,
                 "ss -tanp | grep 'pid=%d,' | grep -v LISTEN | head -n 20 >&2; "
                 "ls -l /proc/%d/fd | tail -n +2 | sed 's/.* -> /  fd: /' | sort | uniq -c >&2",
                 (int)fw_pid, (int)fw_pid);
        if (system(cmd) != 0)
            fprintf(stderr, "(ss -tanp showed nothing)\n");
    }
    if (rss1 > rss0 + (long)opt.rss_slack_mib * 1024)
        fail("finwait's RSS grew from %ld KiB to %ld KiB (allowed: +%u MiB)", rss0, rss1,
             opt.rss_slack_mib);
    if (leftovers)
        fail("%d sockets on finwait's ports are neither listening nor in TIME-WAIT", leftovers);
    for (uint64_t i = 0; i < opt.n; i++)
        if (flows[i].clean && !flows[i].checked && !flows[i].s_seen)
            fail("flow %" PRIu64 " (%s through %s from port %u): the server never saw it; the "
                 "client ended with %s after %u ms",
                 i, beh_name[flows[i].beh], targets[flows[i].target].name, flows[i].cport,
                 flows[i].c_err ? uv_strerror(flows[i].c_err) : end_name[flows[i].c_end],
                 flows[i].c_ms);

    /* SIGTERM: a clean exit */
    kill(fw_pid, SIGTERM);
    status = -1;
    for (int64_t end = mono_ms() + 15000; mono_ms() < end; sleep_ms(20))
        if (waitpid(fw_pid, &status, WNOHANG) == fw_pid)
            break;
    if (status == -1) {
        kill(fw_pid, SIGKILL);
        waitpid(fw_pid, &status, 0);
        fail("finwait did not exit within 15 s of SIGTERM");
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail("finwait ended with %s %d after SIGTERM", WIFEXITED(status) ? "status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    fw_pid = 0;
    log_scan();

    elapsed = t_end - t0_ms;
    printf("soak summary (seed %" PRIu64 ")\n", opt.seed);
    printf("  connections      %" PRIu64 " in %.1f s (%.0f/s), %" PRIu64 " at once\n", started,
           (double)elapsed / 1000, (double)started * 1000 / (double)(elapsed ? elapsed : 1),
           opt.conc);
    for (int b = 0; b < B_COUNT; b++)
        printf("    %-20s %" PRIu64 "\n", beh_name[b], st.by_beh[b]);
    printf("  clean / faulted  %" PRIu64 " / %" PRIu64 " (verified %" PRIu64 ")\n", st.clean,
           st.faulted, st.verified);
    printf("  client ends     ");
    for (int e = 1; e < E_COUNT; e++)
        printf(" %s %" PRIu64 "%s", end_name[e], st.by_end_c[e], e + 1 < E_COUNT ? "," : "\n");
    printf("  bytes verified   up %.1f MiB, down %.1f MiB\n", (double)st.bytes_up / 1048576,
           (double)st.bytes_down / 1048576);
    printf("  finwait fds      %d at start, %d at the end\n", fd0, fd1);
    printf("  finwait RSS      %ld KiB at start, %ld KiB at the end\n", rss0, rss1);
    printf("  reloads          %" PRIu64 " good, %" PRIu64 " refused (+1 final)\n", st.reload_good,
           st.reload_refused);
    printf("  admin API        %" PRIu64 " changes, %" PRIu64 " odd requests, %" PRIu64
           " proxy-list changes by API\n",
           st.api_changes, st.api_odd, st.list_changes);
    printf("  server ends without a header: %" PRIu64 "\n", st.orphan_servers);
    printf("  faulted flows' tails without their header (a silence detached): %" PRIu64 "\n",
           st.tails_after_detach);
    if (st.failures) {
        printf("FAILED: %" PRIu64 " failure%s (seed %" PRIu64 "; log %s)\n", st.failures,
               st.failures == 1 ? "" : "s", opt.seed, log_path);
        return 1;
    }
    printf("PASSED\n");
    return 0;
}
