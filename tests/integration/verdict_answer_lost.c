/*
 * An answer lost to a close with unread data (python3 -m http.server's 501): the server reads
 * the request's head, answers while the client is still sending the body, and closes without
 * reading it: its kernel resets the connection. finwait finds answer_lost on the server side.
 * Its twin closes with SO_LINGER 0 on purpose, but after reading the whole request: an RST
 * after a finished exchange, no finding.
 */
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "findings.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define HEAD   100
#define ANSWER 40
#define CHUNK  1024
#define CHUNKS 40

struct server {
    int lfd;
    bool linger0; /* the twin: read everything, then reset on purpose */
};

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000}, NULL);
}

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = sk_accept(s->lfd, 10000);
    struct sk_read r;

    CHECK(fd >= 0);
    r = sk_read_n(fd, s->linger0 ? HEAD + CHUNK * CHUNKS : HEAD, 10000);
    CHECK_UINT(r.bytes, ==, s->linger0 ? HEAD + CHUNK * CHUNKS : HEAD);
    if (!s->linger0)
        sleep_ms(30); /* the body keeps coming */
    CHECK_EQ(sk_write_pattern(fd, 0, ANSWER, 2000), 0);
    if (s->linger0) {
        sk_reset(fd);
        return NULL;
    }
    sleep_ms(50); /* still coming, unread */
    close(fd);    /* unread data: the kernel sends an RST */
    return NULL;
}

/* The client: the head, then the body in chunks every 5 ms (as an upload runs), unless the
 * connection breaks. */
static void *upload(void *arg)
{
    int fd = *(int *)arg;

    if (sk_write_pattern(fd, 0, HEAD, 2000) != 0)
        return NULL;
    for (int i = 0; i < CHUNKS; i++) {
        if (sk_write_pattern(fd, HEAD + (uint64_t)i * CHUNK, CHUNK, 2000) != 0)
            break;
        sleep_ms(5);
    }
    return NULL;
}

static void run(uint16_t port, int lfd, bool linger0)
{
    struct server s = {lfd, linger0};
    struct sk_thread srv, up;
    int c;

    sk_thread_start(&srv, serve, &s);
    c = sk_connect("127.0.0.1", port, 5000);
    CHECK(c >= 0);
    sk_thread_start(&up, upload, &c);
    sk_thread_join(&up);
    sk_thread_join(&srv);
    struct sk_read r = sk_read_until_end(c, 5000, false, 0);
    fprintf(stderr, "%s: the client read %llu B, then %s\n", linger0 ? "twin" : "bug",
            (unsigned long long)r.bytes, sk_end_name(r.end));
    close(c);
}

int main(void)
{
    uint16_t up = 0, admin;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw;
    json_t *f;

    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - {name: bug, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                   "  - {name: twin, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                   up, up);
    admin = http_admin_port(fw);
    run(fwp_port(fw, "twin"), lfd, true);
    run(fwp_port(fw, "bug"), lfd, false);
    f = fw_wait_finding(admin, "bug", "answer_lost", 5000);
    CHECK_MSG(f, "no answer_lost finding");
    CHECK_STR(json_string_value(json_object_get(f, "side")), "server");
    CHECK_DBL(fw_evidence(f, "answer_bytes"), ==, ANSWER);
    CHECK_DBL(fw_evidence(f, "unread_bytes"), >, 0);
    CHECK_DBL(fw_evidence(f, "rst_ms"), >, fw_evidence(f, "answer_ms"));
    json_decref(f);
    CHECK_UINT(fw_findings_count(admin, "twin", NULL), ==, 0);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("an answer lost to a close with unread data is found, SO_LINGER 0 by design is not");
    return 0;
}
