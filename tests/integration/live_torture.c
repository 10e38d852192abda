/* Seeded random attach, change and detach of byte-preserving toxics through the admin API
 * while two connections carry traffic both ways: every byte arrives once and in order, every
 * FIN arrives, on the copying and the splice path alike. FW_TORTURE_SEED replays a run. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define CONNS 2
#define DOWN  (48ull << 20)
#define UP    (24ull << 20)
#define STEPS 120
#define SLOTS 5

struct flow {
    int from, to;
    uint64_t len; /* written, once the writer stopped */
    int wrc;
    struct sk_read r;
    struct sk_thread wt, rt;
};

static atomic_bool stop;

/* Bursts of 128 KiB (a read that fills a buffer puts the direction on splice) until told to
 * stop, so that traffic flows during every change; then the FIN. */
static void *writer(void *arg)
{
    struct flow *f = arg;

    while (!atomic_load(&stop) && f->wrc == 0) {
        f->wrc = sk_write_pattern(f->from, f->len, 128 << 10, 60000);
        f->len += 128 << 10;
        usleep(f->len % (3 << 17) ? 1000 : 8000);
    }
    sk_shut_wr(f->from);
    return NULL;
}

static void *reader(void *arg)
{
    struct flow *f = arg;

    f->r = sk_read_until_end(f->to, 60000, true, 0);
    return NULL;
}

/* A random toxic that never drops, adds or reorders a byte. */
static void random_toxic(char *body, size_t len, int slot, bool update)
{
    static const char *const streams[] = {"upstream", "downstream"};
    const char *stream = streams[rand() % 2];
    char attrs[128];
    const char *type;

    switch (slot) { /* one type per name: two of a type on one stream are refused */
    case 0:
        type = "latency";
        snprintf(attrs, sizeof attrs, "{\"latency\":%d,\"jitter\":%d}", rand() % 20, rand() % 5);
        break;
    case 1:
        type = "bandwidth";
        snprintf(attrs, sizeof attrs, "{\"rate\":%d}", 20000 + rand() % 80000);
        break;
    case 2:
        type = "slicer";
        snprintf(attrs, sizeof attrs, "{\"average_size\":%d,\"size_variation\":%d,\"delay\":%d}",
                 500 + rand() % 4000, rand() % 400, rand() % 50);
        break;
    case 3:
        type = "slow_close";
        snprintf(attrs, sizeof attrs, "{\"delay\":%d}", rand() % 50);
        break;
    default:
        type = "limit_data";
        snprintf(attrs, sizeof attrs, "{\"bytes\":%d}", 1 << 30);
        break;
    }
    if (update)
        snprintf(body, len, "{\"attributes\":%s}", attrs);
    else
        snprintf(body, len,
                 "{\"name\":\"t%d\",\"type\":\"%s\",\"stream\":\"%s\",\"attributes\":%s}", slot,
                 type, stream, attrs);
}

int main(void)
{
    uint16_t up = 0, admin, port;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("seed: 7\nadmin: {listen: '127.0.0.1:0'}\nproxies: []\n");
    unsigned seed = getenv("FW_TORTURE_SEED") ? (unsigned)atoi(getenv("FW_TORTURE_SEED")) : 11;
    struct flow fl[CONNS][2];
    bool present[SLOTS] = {0};
    char body[512], path[128];
    int ops[3] = {0};
    int64_t t0;

    fprintf(stderr, "seed %u (FW_TORTURE_SEED)\n", seed);
    srand(seed);
    admin = http_admin_port(fw);
    port = http_create_proxy(admin, "t", up);
    t0 = now_ms();
    for (int i = 0; i < CONNS; i++) {
        int c, s;
        sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
        fl[i][0] = (struct flow){.from = c, .to = s};
        fl[i][1] = (struct flow){.from = s, .to = c};
        for (int d = 0; d < 2; d++) {
            sk_thread_start(&fl[i][d].rt, reader, &fl[i][d]);
            sk_thread_start(&fl[i][d].wt, writer, &fl[i][d]);
        }
    }

    for (int k = 0; k < STEPS; k++) {
        int slot = rand() % SLOTS, st;

        snprintf(path, sizeof path, "/proxies/t/toxics/t%d", slot);
        if (!present[slot]) {
            random_toxic(body, sizeof body, slot, false);
            st = http_json(admin, "POST", "/proxies/t/toxics", body, NULL);
            CHECK_MSG(st == 200, "step %d: add %s: %d", k, body, st);
            present[slot] = true;
            ops[0]++;
        } else if (rand() % 3 == 0) {
            random_toxic(body, sizeof body, slot, true);
            st = http_json(admin, "POST", path, body, NULL);
            CHECK_MSG(st == 200, "step %d: update %s: %d", k, body, st);
            ops[1]++;
        } else {
            CHECK_EQ(http_json(admin, "DELETE", path, NULL, NULL), 204);
            present[slot] = false;
            ops[2]++;
        }
        usleep(20000); /* paces the changes only; nothing waits on it */
    }
    for (int slot = 0; slot < SLOTS; slot++) {
        snprintf(path, sizeof path, "/proxies/t/toxics/t%d", slot);
        if (present[slot])
            CHECK_EQ(http_json(admin, "DELETE", path, NULL, NULL), 204);
    }
    atomic_store(&stop, true);
    fprintf(stderr, "%d added, %d updated, %d removed in %lld ms\n", ops[0], ops[1], ops[2],
            (long long)(now_ms() - t0));

    for (int i = 0; i < CONNS; i++) {
        for (int d = 0; d < 2; d++) {
            struct flow *f = &fl[i][d];
            sk_thread_join(&f->wt);
            sk_thread_join(&f->rt);
            CHECK_UINT(f->len, >, 4u << 20);
            CHECK_EQ(f->wrc, 0);
            CHECK_UINT(f->r.bytes, ==, f->len);
            CHECK_MSG(f->r.pattern_ok, "connection %d %s: bytes lost, duplicated or reordered", i,
                      d ? "downstream" : "upstream");
            CHECK_STR(sk_end_name(f->r.end), "EOF");
            fprintf(stderr, "connection %d %s: %llu MiB, ended after %lld ms\n", i,
                    d ? "downstream" : "upstream", (unsigned long long)(f->len >> 20),
                    (long long)(f->r.end_ms - t0));
        }
        close(fl[i][0].from);
        close(fl[i][0].to);
    }
    TEST_PASS("random attach/change/detach under traffic: every byte and FIN intact");
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
