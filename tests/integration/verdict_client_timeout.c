/*
 * A client timeout shorter than the server (curl -m 0.5 against a 2 s answer, made small): the
 * client sends its request, gives up after 200 ms and closes; the server answers at 500 ms and
 * the client's kernel resets. finwait finds client_timeout_shorter on the client side. The twin
 * half-closes after its request and waits for the answer: no finding.
 */
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "findings.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000}, NULL);
}

/* Reads a 10-byte request, answers 100 bytes 500 ms later, reads until the end. */
static void *serve(void *arg)
{
    int lfd = *(int *)arg;

    for (int i = 0; i < 2; i++) {
        int fd = sk_accept(lfd, 10000);
        CHECK(fd >= 0);
        CHECK_UINT(sk_read_n(fd, 10, 2000).bytes, ==, 10);
        sleep_ms(500);
        sk_write_pattern(fd, 0, 100, 2000);
        sk_read_until_end(fd, 5000, false, 0);
        close(fd);
    }
    return NULL;
}

int main(void)
{
    uint16_t up = 0, admin;
    int lfd = sk_listen("127.0.0.1", &up), c;
    struct sk_thread th;
    struct fwp *fw;
    struct sk_read r;
    json_t *f;

    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - {name: bug, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                   "  - {name: twin, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                   up, up);
    admin = http_admin_port(fw);
    sk_thread_start(&th, serve, &lfd);

    c = sk_connect("127.0.0.1", fwp_port(fw, "twin"), 5000);
    CHECK(c >= 0);
    CHECK_EQ(sk_write_pattern(c, 0, 10, 2000), 0);
    sk_shut_wr(c);
    r = sk_read_until_end(c, 5000, true, 0);
    CHECK_UINT(r.bytes, ==, 100);
    CHECK_STR(sk_end_name(r.end), "EOF");
    close(c);

    c = sk_connect("127.0.0.1", fwp_port(fw, "bug"), 5000);
    CHECK(c >= 0);
    CHECK_EQ(sk_write_pattern(c, 0, 10, 2000), 0);
    r = sk_read_until_end(c, 200, false, 0);
    CHECK_STR(sk_end_name(r.end), "timeout"); /* the client's timeout */
    close(c);
    f = fw_wait_finding(admin, "bug", "client_timeout_shorter", 5000);
    CHECK_MSG(f, "no client_timeout_shorter finding");
    CHECK_STR(json_string_value(json_object_get(f, "side")), "client");
    CHECK_DBL(fw_evidence(f, "waited_ms"), >=, 190);
    CHECK_DBL(fw_evidence(f, "waited_ms"), <, 500);
    CHECK_DBL(fw_evidence(f, "answer_bytes"), ==, 100);
    CHECK_DBL(fw_evidence(f, "client_rst_ms"), >=, fw_evidence(f, "answer_ms"));
    json_decref(f);
    sk_thread_join(&th);
    CHECK_UINT(fw_findings_count(admin, "twin", NULL), ==, 0);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("a client that gives up before the answer is found, one that waits is not");
    return 0;
}
