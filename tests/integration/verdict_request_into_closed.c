/*
 * A request sent into a connection the server closed (golang/go#22158, nodejs/node#20256): a
 * keep-alive server closes a connection idle for 200 ms; a pool that does not look before
 * reuse writes its next request into it after the FIN arrived, and the server's kernel
 * answers with an RST. finwait finds request_into_closed on the client side. Its twin, a
 * pool that sees the EOF and opens a new connection, gets its answer and no finding.
 */
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "findings.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define REQ    87
#define ANSWER 50
#define IDLE   200

/* A keep-alive server: answers each REQ-byte request with ANSWER bytes; closes (a full
 * close, so later bytes get an RST) a connection idle for IDLE ms. */
struct server {
    int lfd, conns;
};

static void *serve(void *arg)
{
    struct server *s = arg;

    for (int i = 0; i < s->conns; i++) {
        int fd = sk_accept(s->lfd, 10000);
        CHECK(fd >= 0);
        for (;;) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, IDLE) == 0)
                break; /* idle: the keep-alive timeout */
            struct sk_read r = sk_read_n(fd, REQ, 2000);
            if (r.bytes < REQ)
                break;
            CHECK_EQ(sk_write_pattern(fd, 0, ANSWER, 2000), 0);
        }
        close(fd);
    }
    return NULL;
}

static void request(int fd)
{
    struct sk_read r;

    CHECK_EQ(sk_write_pattern(fd, 0, REQ, 2000), 0);
    r = sk_read_n(fd, ANSWER, 2000);
    CHECK_UINT(r.bytes, ==, ANSWER);
}

int main(void)
{
    struct server s = {0, 3};
    struct sk_thread th;
    uint16_t up = 0, admin;
    struct fwp *fw;
    struct sk_read r;
    json_t *f;
    int c;

    s.lfd = sk_listen("127.0.0.1", &up);
    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - {name: bug, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                   "  - {name: twin, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                   up, up);
    admin = http_admin_port(fw);
    sk_thread_start(&th, serve, &s);

    /* twin: one request, the server closes the idle connection, the pool sees the EOF before
     * reuse and makes a new connection */
    c = sk_connect("127.0.0.1", fwp_port(fw, "twin"), 5000);
    CHECK(c >= 0);
    request(c);
    CHECK(sk_wait_state(c, TCP_CLOSE_WAIT, 5000));
    r = sk_read_until_end(c, 1000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    close(c);
    c = sk_connect("127.0.0.1", fwp_port(fw, "twin"), 5000);
    CHECK(c >= 0);
    request(c);
    close(c);

    /* the bug: the same, but the request goes into the closed connection */
    c = sk_connect("127.0.0.1", fwp_port(fw, "bug"), 5000);
    CHECK(c >= 0);
    request(c);
    CHECK(sk_wait_state(c, TCP_CLOSE_WAIT, 5000)); /* the server's FIN is here */
    CHECK_EQ(sk_write_pattern(c, 0, REQ, 2000), 0);
    r = sk_read_until_end(c, 5000, false, 0);
    CHECK_UINT(r.bytes, ==, 0); /* no answer: the EOF, perhaps the RST */
    close(c);
    f = fw_wait_finding(admin, "bug", "request_into_closed", 5000);
    CHECK_MSG(f, "no request_into_closed finding");
    CHECK_STR(json_string_value(json_object_get(f, "side")), "client");
    CHECK_DBL(fw_evidence(f, "request_bytes"), ==, REQ);
    /* finwait times the idle from its own reads of the answer and of the FIN: a loop slowed
     * by a sanitizer on a loaded machine read the answer 12 ms after the server wrote it */
    CHECK_DBL(fw_evidence(f, "idle_before_fin_ms"), >=, IDLE - 50);
    CHECK_DBL(fw_evidence(f, "idle_before_fin_ms"), <, IDLE + 1000);
    CHECK_DBL(fw_evidence(f, "request_ms"), >=, fw_evidence(f, "fin_relayed_ms"));
    CHECK_DBL(fw_evidence(f, "server_rst_ms"), >=, fw_evidence(f, "request_ms"));
    CHECK_CONTAINS(json_string_value(json_object_get(f, "why")), "retry idempotent requests");
    json_decref(f);
    /* each of its connections is over, and judged at its end */
    CHECK_UINT(fw_findings_count(admin, "twin", NULL), ==, 0);
    CHECK_UINT(fw_findings_count(admin, "bug", NULL), ==, 1);
    /* the other surfaces: the counter, the command line */
    {
        struct http_resp m;
        char url[64], *out = NULL;
        CHECK_EQ(http_req(admin, "GET", "/metrics", NULL, NULL, &m), 200);
        CHECK_CONTAINS(m.body, "finwait_findings_total{proxy=\"bug\",kind=\"request_into_closed\","
                               "side=\"client\"} 1\n");
        CHECK(!strstr(m.body, "finwait_findings_total{proxy=\"twin\""));
        http_resp_free(&m);
        snprintf(url, sizeof url, "http://127.0.0.1:%u", admin);
        const char *args[] = {"findings", "--admin", url, "--proxy", "bug", NULL};
        CHECK_EQ(fwp_run(args, &out, 10000), 0);
        CHECK_CONTAINS(out, "request_into_closed");
        CHECK_CONTAINS(out, "client");
        CHECK_CONTAINS(out, "retry idempotent requests");
        free(out);
    }
    sk_thread_join(&th);
    close(s.lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("a request into a closed connection is found, a pool that checks is not");
    return 0;
}
