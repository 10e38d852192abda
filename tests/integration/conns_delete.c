/* DELETE /proxies/{proxy}/connections/{id}: mode=rst (the default) resets both peers at once,
 * both read ECONNRESET; mode=fin gives both a FIN after what finwait has in flight: the client,
 * which read nothing until then, gets every byte finwait had taken from the server, then EOF.
 * A bad mode is 400, an unknown connection 404, and the admin API's token check applies. */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define TOKEN "conns-token-0123456789"
#define AUTH  "Host: 127.0.0.1\r\nAuthorization: Bearer " TOKEN "\r\n"
#define BLOCK (8u << 20) /* more than the client's small receive buffer and finwait's queue */

static uint16_t admin;

static int req(const char *method, const char *path, json_t **out)
{
    struct http_resp r;
    int st = http_req(admin, method, path, AUTH, NULL, &r);

    if (out)
        *out = r.json ? json_incref(r.json) : NULL;
    http_resp_free(&r);
    return st;
}

static json_int_t downstream_bytes(const char *path)
{
    json_t *c = NULL;
    json_int_t n;

    CHECK_EQ(req("GET", path, &c), 200);
    n = json_integer_value(json_object_get(json_object_get(c, "bytes"), "downstream"));
    json_decref(c);
    return n;
}

struct server {
    int fd;
    int write_rc;
    struct sk_read r;
};

/* The server sends the block and then reads until finwait's FIN. */
static void *serve(void *arg)
{
    struct server *s = arg;

    s->write_rc = sk_write_pattern(s->fd, 0, BLOCK, 20000);
    s->r = sk_read_until_end(s->fd, 20000, false, 0);
    return NULL;
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), cfd, sfd, small = 16 * 1024;
    struct server srv = {0};
    struct sk_thread th;
    struct sk_read rc, rs;
    struct http_resp hr;
    json_int_t before, last;
    struct fwp *fw;

    fw = fwp_start("admin: {listen: '127.0.0.1:0', token: %s}\n"
                   "proxies:\n"
                   "  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                   TOKEN, up);
    admin = http_admin_port(fw);
    port = fwp_port(fw, "t");

    /* the connection routes are behind the same checks as the others */
    CHECK_EQ(http_req(admin, "GET", "/connections", NULL, NULL, &hr), 401);
    http_resp_free(&hr);
    CHECK_EQ(
        http_req(admin, "DELETE", "/proxies/t/connections/1", "Host: evil.example\r\n", NULL, &hr),
        403);
    http_resp_free(&hr);

    /* mode=rst: both peers see a reset */
    sk_pair(NULL, "127.0.0.1", port, lfd, &cfd, &sfd);
    sk_round_trip(cfd, sfd);
    CHECK_EQ(req("DELETE", "/proxies/t/connections/1?mode=nope", NULL), 400);
    CHECK_EQ(req("DELETE", "/proxies/t/connections/2", NULL), 404);
    CHECK_EQ(req("DELETE", "/proxies/nope/connections/1", NULL), 404);
    CHECK_EQ(req("DELETE", "/proxies/t/connections/1?mode=rst", NULL), 204);
    rc = sk_read_until_end(cfd, 5000, false, 0);
    rs = sk_read_until_end(sfd, 5000, false, 0);
    CHECK_STR(sk_end_name(rc.end), "ECONNRESET");
    CHECK_STR(sk_end_name(rs.end), "ECONNRESET");
    close(cfd);
    close(sfd);

    /* default mode is rst */
    sk_pair(NULL, "127.0.0.1", port, lfd, &cfd, &sfd);
    sk_round_trip(cfd, sfd);
    CHECK_EQ(req("DELETE", "/proxies/t/connections/2", NULL), 204);
    CHECK_STR(sk_end_name(sk_read_until_end(cfd, 5000, false, 0).end), "ECONNRESET");
    CHECK_STR(sk_end_name(sk_read_until_end(sfd, 5000, false, 0).end), "ECONNRESET");
    close(cfd);
    close(sfd);

    /* mode=fin: a client with a small receive buffer that does not read yet, so that finwait
     * holds bytes of the server's block in its own queue when the DELETE comes */
    cfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(cfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        CHECK_EQ(connect(cfd, (struct sockaddr *)&sa, sizeof sa), 0);
    }
    sfd = sk_accept(lfd, 5000);
    CHECK(sfd >= 0);
    srv.fd = sfd;
    sk_thread_start(&th, serve, &srv);
    /* wait until finwait's relay stalls: what it delivered stops growing */
    before = -1;
    for (int64_t end = now_ms() + 10000, same_since = now_ms();; poll(NULL, 0, 20)) {
        last = downstream_bytes("/proxies/t/connections/3");
        if (last != before) {
            before = last;
            same_since = now_ms();
        } else if (last > 0 && now_ms() - same_since > 300) {
            break;
        }
        CHECK_MSG(now_ms() < end, "the relay did not stall (%lld bytes)", (long long)last);
    }
    CHECK_INT(last, <, BLOCK);
    CHECK_EQ(req("DELETE", "/proxies/t/connections/3?mode=fin", NULL), 204);
    rc = sk_read_until_end(cfd, 10000, true, 0);
    CHECK_STR(sk_end_name(rc.end), "EOF");
    CHECK(rc.pattern_ok);
    /* every byte finwait had delivered, and those it still held in its queue, came first */
    CHECK_INT(rc.bytes, >, last);
    CHECK_UINT(rc.bytes, <=, BLOCK);
    close(cfd);
    sk_thread_join(&th);
    CHECK_STR(sk_end_name(srv.r.end), "EOF");
    close(sfd);
    /* the connection is gone */
    for (int64_t end = now_ms() + 5000;; poll(NULL, 0, 10)) {
        json_t *a = NULL;
        CHECK_EQ(req("GET", "/connections", &a), 200);
        size_t n = json_array_size(a);
        json_decref(a);
        if (n == 0)
            break;
        CHECK_MSG(now_ms() < end, "%zu connections still listed", n);
    }

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("DELETE a connection: rst resets both peers, fin ends both after what is in flight");
    return 0;
}
