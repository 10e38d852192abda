/* Disabling, deleting or restarting (a new listen or upstream) a proxy through the API ends
 * its open connections as Toxiproxy does: what was in flight arrives, then a FIN (EOF) to both
 * peers, not a reset. A change that keeps listen and upstream leaves them alone. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define INFLIGHT (200 * 1000)

static uint16_t admin, up;

static void create(void)
{
    char body[256];

    snprintf(body, sizeof body,
             "{\"name\":\"db\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(http_json(admin, "POST", "/proxies", body, NULL), 201);
}

static void ends_with_fin(int lfd, const char *method, const char *path, const char *body)
{
    json_t *j = NULL;
    struct sk_read r;
    uint16_t port;
    int c, s;

    CHECK_EQ(http_json(admin, "GET", "/proxies/db", NULL, &j), 200);
    port = http_listen_port(json_string_value(json_object_get(j, "listen")));
    json_decref(j);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    /* the client does not read yet: the bytes wait in finwait's and the kernel's buffers */
    CHECK_EQ(sk_write_pattern(s, 0, INFLIGHT, 2000), 0);
    usleep(100000); /* lets the bytes reach finwait; the test's outcome does not depend on it */
    CHECK_EQ(http_json(admin, method, path, body, NULL), strcmp(method, "DELETE") ? 200 : 204);
    r = sk_read_until_end(c, 3000, true, 0);
    CHECK_UINT(r.bytes, ==, INFLIGHT);
    CHECK(r.pattern_ok);
    CHECK_STR(sk_end_name(r.end), "EOF");
    r = sk_read_until_end(s, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    close(c);
    close(s);
}

int main(void)
{
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\nproxies: []\n");

    admin = http_admin_port(fw);
    create();
    ends_with_fin(lfd, "POST", "/proxies/db", "{\"enabled\":false}");
    TEST_PASS("disabled: the bytes in flight, then EOF to both peers");
    CHECK_EQ(http_json(admin, "POST", "/proxies/db", "{\"enabled\":true}", NULL), 200);
    {
        uint16_t other = 0;
        int ofd = sk_listen("127.0.0.1", &other);
        char body[128];
        snprintf(body, sizeof body, "{\"upstream\":\"127.0.0.1:%u\"}", other);
        ends_with_fin(lfd, "POST", "/proxies/db", body);
        TEST_PASS("upstream changed: the proxy restarts, its connections end with EOF");
        snprintf(body, sizeof body, "{\"upstream\":\"127.0.0.1:%u\"}", up);
        CHECK_EQ(http_json(admin, "POST", "/proxies/db", body, NULL), 200);
        close(ofd);
        /* a new listen address: a free port, taken by finwait at once */
        ofd = sk_listen("127.0.0.1", &(uint16_t){0});
        {
            struct sockaddr_in sa;
            socklen_t sl = sizeof sa;
            CHECK(getsockname(ofd, (struct sockaddr *)&sa, &sl) == 0);
            close(ofd);
            snprintf(body, sizeof body, "{\"listen\":\"127.0.0.1:%u\"}", ntohs(sa.sin_port));
        }
        ends_with_fin(lfd, "POST", "/proxies/db", body);
        TEST_PASS("listen changed: the proxy restarts, its connections end with EOF");
    }
    {
        /* the same listen and upstream sent again (a client's toggle sends all three): the
         * open connection stays */
        json_t *j = NULL;
        char body[256];
        uint16_t port;
        int c, s;
        CHECK_EQ(http_json(admin, "GET", "/proxies/db", NULL, &j), 200);
        snprintf(body, sizeof body, "{\"enabled\":true,\"listen\":\"%s\",\"upstream\":\"%s\"}",
                 json_string_value(json_object_get(j, "listen")),
                 json_string_value(json_object_get(j, "upstream")));
        port = http_listen_port(json_string_value(json_object_get(j, "listen")));
        json_decref(j);
        sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
        CHECK_EQ(http_json(admin, "POST", "/proxies/db", body, NULL), 200);
        CHECK(sk_silent(c, 300));
        CHECK_EQ(sk_write_all(s, "x", 1, 1000), 0);
        CHECK_UINT(sk_read_n(c, 1, 2000).bytes, ==, 1);
        close(c);
        close(s);
        TEST_PASS("the same listen and upstream again: the open connection stays");
    }
    ends_with_fin(lfd, "DELETE", "/proxies/db", NULL);
    TEST_PASS("deleted: the bytes in flight, then EOF to both peers");

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
