/*
 * Abandoned connections: a client opens connections, uses each once and leaves it open and
 * idle (a pool that keeps every connection). With abandoned: 300ms and abandoned_count: 3,
 * three idle connections of one client are found; the twin, two idle connections of a client
 * (subscribers idle on purpose) on a proxy with the same thresholds, are not.
 */
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "findings.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define CONNS 5

struct server {
    int lfd;
    int fds[CONNS];
};

/* Accept CONNS connections and answer each one's 4 bytes; keep them open. */
static void *serve(void *arg)
{
    struct server *s = arg;

    for (int i = 0; i < CONNS; i++) {
        s->fds[i] = sk_accept(s->lfd, 10000);
        CHECK(s->fds[i] >= 0);
        CHECK_UINT(sk_read_n(s->fds[i], 4, 5000).bytes, ==, 4);
        CHECK_EQ(sk_write_all(s->fds[i], "pong", 4, 2000), 0);
    }
    return NULL;
}

static int use_once(uint16_t port)
{
    int c = sk_connect("127.0.0.1", port, 5000);

    CHECK(c >= 0);
    CHECK_EQ(sk_write_all(c, "ping", 4, 2000), 0);
    CHECK_UINT(sk_read_n(c, 4, 5000).bytes, ==, 4);
    return c;
}

int main(void)
{
    struct server s = {0};
    struct sk_thread th;
    uint16_t up = 0, admin;
    struct fwp *fw;
    json_t *f;
    int c[CONNS];

    s.lfd = sk_listen("127.0.0.1", &up);
    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - {name: bug, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                   "     verdicts: {abandoned: 300ms, abandoned_count: 3}}\n"
                   "  - {name: twin, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                   "     verdicts: {abandoned: 300ms, abandoned_count: 3}}\n",
                   up, up);
    admin = http_admin_port(fw);
    sk_thread_start(&th, serve, &s);
    for (int i = 0; i < 2; i++)
        c[i] = use_once(fwp_port(fw, "twin"));
    for (int i = 2; i < CONNS; i++)
        c[i] = use_once(fwp_port(fw, "bug"));
    sk_thread_join(&th);
    f = fw_wait_finding(admin, "bug", "abandoned", 5000);
    CHECK_MSG(f, "no abandoned finding");
    CHECK_STR(json_string_value(json_object_get(f, "side")), "client");
    CHECK_DBL(fw_evidence(f, "idle_connections"), ==, 3);
    CHECK_DBL(fw_evidence(f, "longest_idle_ms"), >=, 300);
    json_decref(f);
    /* the twin's two were idle at least as long */
    CHECK_UINT(fw_findings_count(admin, "twin", NULL), ==, 0);
    /* once per connection set: the sweeps of the next 600 ms (every 250 ms) add nothing */
    for (int64_t end = now_ms() + 600; now_ms() < end;) {
        CHECK_UINT(fw_findings_count(admin, "bug", "abandoned"), ==, 1);
        CHECK(sk_silent(c[2], 100)); /* the client sees nothing of it either */
    }
    for (int i = 0; i < CONNS; i++) {
        close(c[i]);
        close(s.fds[i]);
    }
    close(s.lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("three idle connections of a client are found, two idle subscribers are not");
    return 0;
}
