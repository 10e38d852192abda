/*
 * TIME_WAIT pressure: a client that makes one-request connections and closes each first (so
 * each leaves a TIME_WAIT socket on it). With time_wait_pressure: 20, its 25 connections in a
 * minute are found, once. The twin makes as many connections but the server closes each first
 * (the TIME_WAIT is the server's, which holds no ephemeral ports): nothing is found.
 */
#include <netinet/tcp.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "findings.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define N 25

struct server {
    int lfd;
    bool closes_first;
};

static void *serve(void *arg)
{
    struct server *s = arg;

    for (int i = 0; i < N; i++) {
        int fd = sk_accept(s->lfd, 10000);
        CHECK(fd >= 0);
        CHECK_UINT(sk_read_n(fd, 4, 5000).bytes, ==, 4);
        CHECK_EQ(sk_write_all(fd, "pong", 4, 2000), 0);
        if (!s->closes_first)
            sk_read_until_end(fd, 5000, false, 0); /* the client's FIN first */
        close(fd);
    }
    return NULL;
}

static void connections(uint16_t port, int lfd, bool server_closes_first)
{
    struct server s = {lfd, server_closes_first};
    struct sk_thread th;

    sk_thread_start(&th, serve, &s);
    for (int i = 0; i < N; i++) {
        int c = sk_connect("127.0.0.1", port, 5000);
        CHECK(c >= 0);
        CHECK_EQ(sk_write_all(c, "ping", 4, 2000), 0);
        CHECK_UINT(sk_read_n(c, 4, 5000).bytes, ==, 4);
        if (server_closes_first)
            CHECK(sk_wait_state(c, TCP_CLOSE_WAIT, 5000));
        close(c);
    }
    sk_thread_join(&th);
}

int main(void)
{
    uint16_t up = 0, admin;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw;
    json_t *f;

    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - {name: bug, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                   "     verdicts: {time_wait_pressure: 20}}\n"
                   "  - {name: twin, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                   "     verdicts: {time_wait_pressure: 20}}\n",
                   up, up);
    admin = http_admin_port(fw);
    connections(fwp_port(fw, "twin"), lfd, true);
    connections(fwp_port(fw, "bug"), lfd, false);
    f = fw_wait_finding(admin, "bug", "time_wait_pressure", 5000);
    CHECK_MSG(f, "no time_wait_pressure finding");
    CHECK_STR(json_string_value(json_object_get(f, "side")), "client");
    CHECK_EQ(json_integer_value(json_object_get(f, "count")), 1); /* once in the minute */
    CHECK_DBL(fw_evidence(f, "connections"), ==, 20);
    json_decref(f);
    /* the twin's connections are all over by now (each judged at its end) */
    for (int64_t end = now_ms() + 5000;;) {
        json_t *open = NULL;
        CHECK_EQ(http_json(admin, "GET", "/proxies/twin/connections", NULL, &open), 200);
        size_t n = json_array_size(open);
        json_decref(open);
        if (n == 0)
            break;
        CHECK_MSG(now_ms() < end, "the twin's connections did not end");
        nanosleep(&(struct timespec){0, 20 * 1000000}, NULL); /* poll again */
    }
    CHECK_UINT(fw_findings_count(admin, "twin", NULL), ==, 0);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("a client that closes first at a rate is found, one whose server closes is not");
    return 0;
}
