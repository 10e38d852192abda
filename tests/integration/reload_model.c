/*
 * Model-based reload test: seeded random sequences of changes to the proxy list (additions,
 * removals, renames, insertions in the middle, reorders, disables and re-enables, listen and
 * upstream changes, fault changes, POST /reset, /populate), applied in turn by SIGHUP and by
 * the admin API while background clients keep connecting. After every step exactly the
 * proxies the model expects accept and relay to the upstream it expects, on the port it
 * expects (a kept port-0 proxy keeps its port, also when the API disables and enables it or
 * POST /reset does), the addresses it no longer expects refuse,
 * and finwait is alive.
 *
 * FW_MODEL_SEED=N repeats a run; FW_MODEL_STEPS=N runs longer (default 2000).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "netns.h"
#include "proc.h"
#include "sock.h"

#define MAXP      12 /* proxies in the model at most */
#define NUPSTREAM 3
#define NFIXED    16 /* fixed listen ports the model may use */

struct mproxy {
    char name[24];
    bool enabled;
    uint16_t listen;     /* configured port: fixed, or 0 */
    int upstream;        /* index into upstream_port */
    bool fault;          /* a latency fault named "lat" */
    uint16_t bound;      /* the port it listens on now (0: not listening or not known yet) */
    uint16_t remembered; /* the last port it had at port 0: finwait keeps it for the proxy
                             while disabled, so no fixed listen may take it */
};

static struct mproxy model[MAXP];
static int nmodel;
static uint16_t upstream_port[NUPSTREAM];
static uint16_t fixed_port[NFIXED];
static uint16_t admin_port;
static uint64_t rng_state;
static unsigned next_name = 1;
static struct fwp *fw;
static int step_no;
static uint64_t seed;

/* Ports the background clients use: a snapshot of the model's bound ports. */
static _Atomic uint16_t live_ports[MAXP];
static atomic_bool stop_traffic;
static atomic_long traffic_ok;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* A failed check names the seed and step that repeat it. */
#define FAIL_IF(cond, ...)                                                                         \
    do {                                                                                           \
        if (cond) {                                                                                \
            fprintf(stderr, "seed %llu, step %d: ", (unsigned long long)seed, step_no);            \
            CHECK_MSG(!(cond), __VA_ARGS__);                                                       \
        }                                                                                          \
    } while (0)

/* --- upstream servers: answer one line with "U<n> <line>" --- */

struct conn_arg {
    int fd;
    int id;
};

static void *serve_one(void *p)
{
    struct conn_arg a = *(struct conn_arg *)p;
    char buf[256], out[300];
    size_t len = 0;
    int64_t end = now_ms() + 3000;

    free(p);
    while (len < sizeof buf - 1 && now_ms() < end) {
        struct pollfd pfd = {.fd = a.fd, .events = POLLIN};
        ssize_t n;
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = read(a.fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(buf, '\n', len))
            break;
    }
    buf[len] = '\0';
    if (memchr(buf, '\n', len)) {
        snprintf(out, sizeof out, "U%d %s", a.id, buf);
        sk_write_all(a.fd, out, strlen(out), 1000);
    }
    close(a.fd);
    return NULL;
}

static void *upstream_main(void *p)
{
    int id = (int)(intptr_t)p;
    int lfd = sk_listen("127.0.0.1", &upstream_port[id]);

    CHECK(lfd >= 0);
    for (;;) {
        int fd = sk_accept(lfd, 1000);
        struct conn_arg *a;
        pthread_t t;
        if (fd < 0)
            continue;
        a = malloc(sizeof *a);
        CHECK(a != NULL);
        a->fd = fd;
        a->id = id;
        CHECK(pthread_create(&t, NULL, serve_one, a) == 0);
        pthread_detach(t);
    }
    return NULL;
}

/* --- what the peers see --- */

/* One line through the proxy on `port`: true and *upstream set if an upstream answered. */
static bool relay_once(uint16_t port, int *upstream, int *err)
{
    char msg[64], buf[128];
    size_t len = 0;
    int fd = sk_connect("127.0.0.1", port, 2000);
    int64_t end = now_ms() + 3000;

    *err = 0;
    if (fd < 0) {
        *err = errno;
        return false;
    }
    snprintf(msg, sizeof msg, "ping %d\n", step_no);
    if (sk_write_all(fd, msg, strlen(msg), 2000) != 0) {
        *err = EPIPE;
        close(fd);
        return false;
    }
    while (len < sizeof buf - 1 && now_ms() < end && !memchr(buf, '\n', len)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) {
            *err = n < 0 ? errno : 0;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    if (buf[0] != 'U' || !strstr(buf, msg))
        return false;
    *upstream = buf[1] - '0';
    return true;
}

static void *traffic_main(void *unused)
{
    (void)unused;
    while (!atomic_load(&stop_traffic)) {
        uint16_t port = atomic_load(&live_ports[(unsigned)now_ms() % MAXP]);
        int up, err;
        if (!port) {
            poll(NULL, 0, 1);
            continue;
        }
        /* a proxy may go away under it: only finwait's survival matters here */
        if (relay_once(port, &up, &err))
            atomic_fetch_add(&traffic_ok, 1);
    }
    return NULL;
}

/* --- the model --- */

static struct mproxy *find(const char *name)
{
    for (int i = 0; i < nmodel; i++)
        if (strcmp(model[i].name, name) == 0)
            return &model[i];
    return NULL;
}

static uint16_t unused_fixed_port(void)
{
    for (int tries = 0; tries < 100; tries++) {
        uint16_t p = fixed_port[rnd(NFIXED)];
        bool used = false;
        for (int i = 0; i < nmodel; i++)
            used |= model[i].listen == p || model[i].bound == p || model[i].remembered == p;
        if (!used)
            return p;
    }
    return 0;
}

static struct mproxy new_proxy(void)
{
    struct mproxy p = {.enabled = true, .upstream = (int)rnd(NUPSTREAM)};

    snprintf(p.name, sizeof p.name, "p%u", next_name++);
    p.listen = rnd(3) == 0 ? 0 : unused_fixed_port();
    p.fault = rnd(4) == 0;
    return p;
}

static void write_yaml(char *buf, size_t cap)
{
    size_t n = 0;

    n += (size_t)snprintf(buf + n, cap - n,
                          "log: {level: warn}\nseed: 7\nadmin: {listen: 127.0.0.1:0}\nproxies:\n");
    for (int i = 0; i < nmodel; i++) {
        const struct mproxy *p = &model[i];
        n += (size_t)snprintf(buf + n, cap - n,
                              "  - name: %s\n    listen: 127.0.0.1:%u\n    upstream: "
                              "127.0.0.1:%u\n    enabled: %s\n",
                              p->name, p->listen, upstream_port[p->upstream],
                              p->enabled ? "true" : "false");
        if (p->fault)
            n += (size_t)snprintf(buf + n, cap - n,
                                  "    faults:\n      - {name: lat, type: latency, latency: 1, "
                                  "stream: downstream}\n");
        CHECK(n < cap);
    }
}

static char *proxy_body(const struct mproxy *p)
{
    char *s = NULL;

    CHECK(asprintf(&s,
                   "{\"name\":\"%s\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"127.0.0.1:%u\","
                   "\"enabled\":%s}",
                   p->name, p->listen, upstream_port[p->upstream],
                   p->enabled ? "true" : "false") > 0);
    return s;
}

static void api(const char *method, const char *path, const char *body, int want)
{
    int st = http_json(admin_port, method, path, body, NULL);

    FAIL_IF(st != want, "%s %s %s: status %d, expected %d", method, path, body ? body : "", st,
            want);
}

/*
 * A change that enables proxies again: a disabled port-0 proxy listens on the port it
 * remembers, which the kernel may have handed to another proxy meanwhile (as with Toxiproxy).
 * Then the answer is Toxiproxy's 500 and nothing changed. True if it was applied.
 */
static bool api_enabling(const char *method, const char *path, const char *body, int want)
{
    json_t *j = NULL;
    int st = http_json(admin_port, method, path, body, &j);
    bool taken = st == 500 && strstr(json_string_value(json_object_get(j, "error")) ?: "",
                                     "bind: address already in use");

    json_decref(j);
    FAIL_IF(st != want && !taken, "%s %s %s: status %d, expected %d", method, path,
            body ? body : "", st, want);
    return st == want;
}

static void api_fault(const struct mproxy *p)
{
    char path[128];

    snprintf(path, sizeof path, "/proxies/%s/toxics", p->name);
    if (p->fault)
        api("POST", path,
            "{\"name\":\"lat\",\"type\":\"latency\",\"stream\":\"downstream\","
            "\"attributes\":{\"latency\":1}}",
            200);
    else {
        strcat(path, "/lat");
        api("DELETE", path, NULL, 204);
    }
}

/* The ports the API reports, into the model (the only way to learn a new port-0 proxy's). */
static void read_ports(void)
{
    json_t *all = NULL, *p;
    const char *name;
    int st = http_json(admin_port, "GET", "/proxies", NULL, &all);

    FAIL_IF(st != 200 || !json_is_object(all), "GET /proxies: %d", st);
    FAIL_IF((int)json_object_size(all) != nmodel, "the API lists %zu proxies, the model %d",
            json_object_size(all), nmodel);
    json_object_foreach(all, name, p)
    {
        struct mproxy *m = find(name);
        uint16_t port = http_listen_port(json_string_value(json_object_get(p, "listen")));
        FAIL_IF(!m, "the API lists proxy '%s', the model does not", name);
        FAIL_IF(json_is_true(json_object_get(p, "enabled")) != m->enabled,
                "proxy '%s' enabled differs", name);
        if (!m->enabled)
            continue;
        if (m->listen)
            FAIL_IF(port != m->listen, "proxy '%s' on port %u, expected %u", name, port, m->listen);
        else if (m->bound)
            FAIL_IF(port != m->bound, "port-0 proxy '%s' moved from %u to %u", name, m->bound,
                    port);
        m->bound = port;
        if (!m->listen)
            m->remembered = port;
    }
    json_decref(all);
}

/* A connect to a port nobody listens on can succeed when the kernel picks that very port as
 * the source: the socket is connected to itself. */
static bool self_connected(int fd)
{
    struct sockaddr_in a, b;
    socklen_t la = sizeof a, lb = sizeof b;

    return getsockname(fd, (struct sockaddr *)&a, &la) == 0 &&
           getpeername(fd, (struct sockaddr *)&b, &lb) == 0 && a.sin_port == b.sin_port &&
           a.sin_addr.s_addr == b.sin_addr.s_addr;
}

/* Every expected proxy relays to its upstream; every port the model no longer expects
 * refuses. */
static void verify(uint16_t *was_bound, int nwas)
{
    for (int i = 0; i < MAXP; i++)
        atomic_store(&live_ports[i], i < nmodel && model[i].enabled ? model[i].bound : 0);
    for (int i = 0; i < nmodel; i++) {
        int up = -1, err;
        if (!model[i].enabled)
            continue;
        FAIL_IF(!relay_once(model[i].bound, &up, &err), "proxy '%s' on %u does not relay: %s",
                model[i].name, model[i].bound, strerror(err));
        FAIL_IF(up != model[i].upstream, "proxy '%s' relays to upstream %d, expected %d",
                model[i].name, up, model[i].upstream);
    }
    for (int k = 0; k < nwas; k++) {
        bool expected = false;
        int fd;
        for (int i = 0; i < nmodel; i++)
            expected |= model[i].enabled && model[i].bound == was_bound[k];
        if (expected || !was_bound[k])
            continue;
        fd = sk_connect("127.0.0.1", was_bound[k], 2000);
        if (fd >= 0 && self_connected(fd)) {
            close(fd); /* TCP's simultaneous open with itself: nobody listens there */
            continue;
        }
        FAIL_IF(fd >= 0, "port %u still accepts after its proxy went away", was_bound[k]);
        FAIL_IF(errno != ECONNREFUSED, "port %u: %s", was_bound[k], strerror(errno));
    }
    FAIL_IF(fwp_wait_exit(fw, 0) != -1, "finwait exited (status %d)", fw->status);
}

/* One random change, applied by SIGHUP (`by_file`) or the API. */
static void step(bool by_file)
{
    int op = (int)rnd(10), i = nmodel ? (int)rnd((unsigned)nmodel) : 0;
    struct mproxy *p = nmodel ? &model[i] : NULL;
    char path[128], yaml[8192];
    char *body = NULL;

    if (nmodel < 2 || (op == 0 && nmodel < MAXP)) { /* insert at a random position */
        struct mproxy n = new_proxy();
        int at = by_file ? (int)rnd((unsigned)nmodel + 1) : nmodel;
        if (nmodel >= MAXP)
            return;
        memmove(&model[at + 1], &model[at], (size_t)(nmodel - at) * sizeof *model);
        model[at] = n;
        nmodel++;
        if (!by_file) {
            api("POST", "/proxies", body = proxy_body(&model[at]), 201);
            if (model[at].fault)
                api_fault(&model[at]);
        }
    } else if (op == 1 && nmodel > 1) { /* remove */
        if (!by_file) {
            snprintf(path, sizeof path, "/proxies/%s", p->name);
            api("DELETE", path, NULL, 204);
        }
        memmove(p, p + 1, (size_t)(nmodel - i - 1) * sizeof *model);
        nmodel--;
    } else if (op == 2) { /* rename (the API has no rename: delete and create) */
        char old[24];
        snprintf(old, sizeof old, "%s", p->name);
        snprintf(p->name, sizeof p->name, "p%u", next_name++);
        if (p->listen == 0)
            p->bound = 0; /* a new proxy at port 0 gets a new port */
        if (!by_file) {
            snprintf(path, sizeof path, "/proxies/%s", old);
            api("DELETE", path, NULL, 204);
            api("POST", "/proxies", body = proxy_body(p), 201);
            if (p->fault)
                api_fault(p);
        }
    } else if (op == 3) { /* disable or enable */
        p->enabled = !p->enabled;
        /* through the API a port-0 proxy keeps its port, as Toxiproxy's; a file says :0 */
        if (by_file && (!p->enabled || p->listen == 0))
            p->bound = 0;
        if (!by_file) {
            snprintf(path, sizeof path, "/proxies/%s", p->name);
            if (!api_enabling("POST", path,
                              p->enabled ? "{\"enabled\":true}" : "{\"enabled\":false}", 200))
                p->enabled = false; /* its remembered port was taken: still disabled */
        }
    } else if (op == 4) { /* listen moves */
        uint16_t to = rnd(3) == 0 ? 0 : unused_fixed_port();
        if (to == p->listen && to != 0)
            return;
        p->listen = to;
        p->bound = 0;
        if (!by_file) {
            snprintf(path, sizeof path, "/proxies/%s", p->name);
            CHECK(asprintf(&body, "{\"listen\":\"127.0.0.1:%u\"}", to) > 0);
            api("POST", path, body, 200);
        }
    } else if (op == 5) { /* upstream changes */
        p->upstream = (p->upstream + 1 + (int)rnd(NUPSTREAM - 1)) % NUPSTREAM;
        if (!by_file) {
            snprintf(path, sizeof path, "/proxies/%s", p->name);
            CHECK(asprintf(&body, "{\"upstream\":\"127.0.0.1:%u\"}", upstream_port[p->upstream]) >
                  0);
            api("POST", path, body, 200);
        }
    } else if (op == 6) { /* fault added or removed */
        p->fault = !p->fault;
        if (!by_file)
            api_fault(p);
    } else if (op == 7 && by_file && nmodel > 2) { /* reorder */
        struct mproxy moved = *p;
        int to = (int)rnd((unsigned)nmodel - 1);
        memmove(p, p + 1, (size_t)(nmodel - i - 1) * sizeof *model);
        memmove(&model[to + 1], &model[to], (size_t)(nmodel - 1 - to) * sizeof *model);
        model[to] = moved;
    } else if (op == 8 && !by_file) { /* POST /reset: every proxy enabled, no fault */
        if (!api_enabling("POST", "/reset", NULL, 204))
            return;                        /* a remembered port was taken: nothing changed */
        for (int k = 0; k < nmodel; k++) { /* a port-0 proxy enabled again keeps its port */
            model[k].enabled = true;
            model[k].fault = false;
        }
    } else if (op == 9 && !by_file && nmodel < MAXP) { /* /populate adds one, keeps the rest */
        struct mproxy n = new_proxy();
        n.fault = false;
        model[nmodel++] = n;
        body = proxy_body(&n);
        char *arr = NULL;
        CHECK(asprintf(&arr, "[%s]", body) > 0);
        api("POST", "/populate", arr, 201);
        free(arr);
    } else {
        return;
    }
    free(body);
    if (by_file) {
        write_yaml(yaml, sizeof yaml);
        FAIL_IF(!fwp_reload(fw, "%s", yaml), "the reload was refused");
    }
}

static void run(uint64_t run_seed, int steps)
{
    char yaml[8192];
    uint16_t was[256]; /* ports bound at some step, most recent last */
    int nwas = 0;

    seed = run_seed;
    rng_state = seed * 2654435761u + 1;
    nmodel = 0;
    step_no = 0;
    fprintf(stderr, "model seed %llu (FW_MODEL_SEED=%llu repeats it), %d steps\n",
            (unsigned long long)seed, (unsigned long long)seed, steps);
    for (int k = 0; k < 4; k++)
        model[nmodel++] = new_proxy();
    write_yaml(yaml, sizeof yaml);
    fw = fwp_start("%s", yaml);
    {
        static const char said[] = "admin API (Toxiproxy's) listening on 127.0.0.1:";
        char *log, *at;
        CHECK(fwp_wait_log(fw, said, 5000));
        log = fwp_log(fw);
        at = strstr(log, said);
        admin_port = (uint16_t)atoi(at + strlen(said));
        free(log);
    }
    read_ports();
    verify(NULL, 0);
    for (step_no = 1; step_no <= steps; step_no++) {
        for (int i = 0; i < nmodel; i++) {
            bool known = !model[i].bound;
            for (int k = 0; k < nwas && !known; k++)
                known = was[k] == model[i].bound;
            if (known)
                continue;
            if (nwas == (int)(sizeof was / sizeof *was)) /* forget the oldest */
                memmove(was, was + 1, --nwas * sizeof *was);
            was[nwas++] = model[i].bound;
        }
        step(step_no % 2 == 0);
        read_ports();
        verify(was, nwas);
        if (step_no % 250 == 0)
            fprintf(stderr, "step %d: %d proxies\n", step_no, nmodel);
    }
    CHECK_EQ(fwp_stop(fw, SIGTERM, 10000), 0);
}

int main(void)
{
    struct sk_thread up[NUPSTREAM], traffic;
    const char *env_seed = getenv("FW_MODEL_SEED"), *env_steps = getenv("FW_MODEL_STEPS");
    int steps = env_steps ? atoi(env_steps) : 2000;
    uint64_t first = env_seed ? strtoull(env_seed, NULL, 10) : (uint64_t)now_ms();

    signal(SIGPIPE, SIG_IGN);
    /* The model probes ports its proxies gave up, thousands of times: on the host's loopback
     * another test may since have been given that very port (a port-0 listener), and a probe
     * would both fail here and steal that test's connection. A namespace of its own keeps
     * every port it probes its own. */
    if (!netns_try_enter())
        fprintf(stderr, "no network namespace: run alone, other tests may take freed ports\n");
    for (int i = 0; i < NUPSTREAM; i++) {
        sk_thread_start(&up[i], upstream_main, (void *)(intptr_t)i);
        for (int64_t end = now_ms() + 2000; !upstream_port[i] && now_ms() < end;)
            poll(NULL, 0, 1);
        CHECK(upstream_port[i] != 0);
    }
    /* Fixed ports below the ephemeral range, free when the test starts. */
    rng_state = (uint64_t)getpid() * 7919u + 1;
    for (int k = 0; k < NFIXED;) {
        uint16_t p = (uint16_t)(20000 + rnd(12000));
        int fd = sk_listen("127.0.0.1", &p);
        if (fd < 0)
            continue;
        close(fd);
        fixed_port[k++] = p;
    }
    sk_thread_start(&traffic, traffic_main, NULL);
    run(first, steps);
    atomic_store(&stop_traffic, true);
    sk_thread_join(&traffic);
    fprintf(stderr, "background clients relayed %ld connections\n", atomic_load(&traffic_ok));
    TEST_PASS("reload model");
    return 0;
}
