/* An RST from either peer reaches the other as an RST: its read fails with ECONNRESET, after
 * the bytes that came before. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

static void one(struct fwp *fw, int lfd, bool client_resets)
{
    int c = sk_connect("127.0.0.1", fwp_port(fw, "t"), 5000), s;
    int resetter, victim;
    struct sk_read r;

    CHECK(c >= 0);
    s = sk_accept(lfd, 5000);
    CHECK(s >= 0);
    resetter = client_resets ? c : s;
    victim = client_resets ? s : c;
    CHECK_EQ(sk_write_pattern(resetter, 0, 3000, 5000), 0);
    r = sk_read_n(victim, 3000, 5000);
    CHECK_UINT(r.bytes, ==, 3000);
    sk_reset(resetter);
    r = sk_read_until_end(victim, 5000, false, 0);
    CHECK_MSG(r.end == SK_RESET, "%s peer saw %s, expected ECONNRESET",
              client_resets ? "server" : "client", sk_end_name(r.end));
    close(victim);
}

struct writer {
    int fd;
    int rc;
};

static void *write_lots(void *arg)
{
    struct writer *w = arg;

    w->rc = sk_write_pattern(w->fd, 0, 1ull << 30, 20000);
    return NULL;
}

/* A reset in the middle of a bulk transfer (the zero-copy path): the writer's next writes
 * fail, the reader's read fails. */
static void bulk(struct fwp *fw, int lfd)
{
    int c = sk_connect("127.0.0.1", fwp_port(fw, "t"), 5000), s;
    struct writer w;
    struct sk_thread th;
    struct sk_read r;

    CHECK(c >= 0);
    s = sk_accept(lfd, 5000);
    CHECK(s >= 0);
    w.fd = s;
    sk_thread_start(&th, write_lots, &w);
    r = sk_read_n(c, 20u << 20, 10000);
    CHECK_UINT(r.bytes, ==, 20u << 20);
    sk_reset(c);
    sk_thread_join(&th);
    CHECK_MSG(w.rc == -ECONNRESET || w.rc == -EPIPE, "server write ended with %d", w.rc);
    close(s);
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw =
        fwp_start("proxies:\n  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n", up);

    one(fw, lfd, true);
    TEST_PASS("client RST reaches the server");
    one(fw, lfd, false);
    TEST_PASS("server RST reaches the client");
    bulk(fw, lfd);
    TEST_PASS("client RST in the middle of a 1 GiB answer reaches the server");
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
