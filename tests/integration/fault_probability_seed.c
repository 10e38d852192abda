/* probability and seed: a fault with probability 0.5 applies to roughly half of 1,000
 * connections, and to the same ones in a second run with the same seed; `match` limits a
 * fault to a client network. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define CONNS 1000

struct acceptor {
    int lfd;
    volatile int stop;
};

/* The server greets every connection with one byte, so a client tells "relayed" (the byte)
 * from "refused" (RST) without waiting. */
static void *greet(void *arg)
{
    struct acceptor *a = arg;

    while (!a->stop) {
        int s = sk_accept(a->lfd, 100);
        if (s < 0)
            continue;
        sk_write_all(s, "g", 1, 1000);
        close(s);
    }
    return NULL;
}

#define CFG                                                                                        \
    "log: {level: warn}\n"                                                                         \
    "seed: %u\n"                                                                                   \
    "proxies:\n"                                                                                   \
    "  - name: t\n"                                                                                \
    "    listen: 127.0.0.1:0\n"                                                                    \
    "    upstream: 127.0.0.1:%u\n"                                                                 \
    "    faults: [{type: refuse, probability: 0.5}]\n"

/* n connections through proxy t: 'R' for each one refused, '.' for each one relayed. */
static void outcomes(struct fwp *fw, int n, char *out)
{
    uint16_t port = fwp_port(fw, "t");

    for (int i = 0; i < n; i++) {
        struct sk_read r = sk_connect_read_end(NULL, "127.0.0.1", port, 5000);

        CHECK_MSG(r.end == SK_RESET || (r.end == SK_EOF && r.bytes == 1), "connection %d: %s", i,
                  sk_end_name(r.end));
        out[i] = r.end == SK_RESET ? 'R' : '.';
    }
    out[n] = '\0';
}

static void run(uint16_t up, unsigned seed, char *out)
{
    struct fwp *fw = fwp_start(CFG, seed, up);

    outcomes(fw, CONNS, out);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
}

int main(void)
{
    static char a[CONNS + 1], b[CONNS + 1], c[CONNS + 1];
    struct acceptor acc = {0};
    struct sk_thread th;
    uint16_t up = 0;
    int refused = 0, differ = 0;

    acc.lfd = sk_listen("127.0.0.1", &up);
    sk_thread_start(&th, greet, &acc);
    run(up, 42, a);
    run(up, 42, b);
    run(up, 7, c);
    {
        /* a reload to another seed and back restarts the decisions from the first one */
        static char d[51], e[51], f[51];
        struct fwp *fw = fwp_start(CFG, 42u, up);
        outcomes(fw, 50, d);
        CHECK(fwp_reload(fw, CFG, 7u, up));
        outcomes(fw, 50, e);
        CHECK(fwp_reload(fw, CFG, 42u, up));
        outcomes(fw, 50, f);
        CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
        CHECK(strncmp(d, a, 50) == 0);
        CHECK_STR(f, d);
        CHECK(strcmp(e, d) != 0);
    }
    acc.stop = 1;
    sk_thread_join(&th);
    close(acc.lfd);
    for (int i = 0; i < CONNS; i++) {
        refused += a[i] == 'R';
        differ += a[i] != c[i];
    }
    fprintf(stderr, "seed 42: %d of %d refused; seed 7 differs on %d\n", refused, CONNS, differ);
    CHECK_STR(a, b);
    CHECK_INT(refused, >=, 430);
    CHECK_INT(refused, <=, 570);
    CHECK_INT(differ, >, 100);
    TEST_PASS("probability 0.5: about half, the same half for the same seed, across reloads too");

    {
        uint16_t up2 = 0;
        int lfd = sk_listen("127.0.0.1", &up2), cl, sv;
        struct fwp *fw = fwp_start("proxies:\n  - name: t\n    listen: 127.0.0.1:0\n"
                                   "    upstream: 127.0.0.1:%u\n"
                                   "    faults: [{type: refuse, match: {client: 127.0.0.2/32}}]\n",
                                   up2);
        uint16_t port = fwp_port(fw, "t");
        CHECK_STR(sk_end_name(sk_connect_read_end("127.0.0.2", "127.0.0.1", port, 2000).end),
                  "ECONNRESET");
        cl = sk_connect_from("127.0.0.1", "127.0.0.1", port, 2000);
        CHECK(cl >= 0);
        sv = sk_accept(lfd, 2000);
        CHECK(sv >= 0);
        CHECK_EQ(sk_write_all(sv, "ok", 2, 1000), 0);
        CHECK_UINT(sk_read_n(cl, 2, 1000).bytes, ==, 2);
        close(cl);
        close(sv);
        close(lfd);
        CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    }
    TEST_PASS("match: only clients of the network get the fault");
    return 0;
}
