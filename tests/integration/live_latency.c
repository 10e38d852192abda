/* A pooled connection (kept open across the changes) takes a latency toxic added, changed and
 * removed through the admin API, as Toxiproxy's open links do; removing the toxic writes what
 * it held at once, in order. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0, admin, port;
    int lfd = sk_listen("127.0.0.1", &up), c[3], s[3];
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\nproxies: []\n");
    struct sk_read r;
    int64_t t0, rt;

    admin = http_admin_port(fw);
    port = http_create_proxy(admin, "db", up);
    for (int i = 0; i < 3; i++) {
        sk_pair(NULL, "127.0.0.1", port, lfd, &c[i], &s[i]);
        CHECK_INT(sk_round_trip(c[i], s[i]), <, 100);
    }

    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"latency\",\"stream\":\"downstream\","
                       "\"attributes\":{\"latency\":200}}",
                       NULL),
             200);
    for (int i = 0; i < 3; i++) {
        rt = sk_round_trip(c[i], s[i]);
        fprintf(stderr, "pooled connection %d: %lld ms with latency 200\n", i, (long long)rt);
        CHECK_INT(rt, >=, 195);
        CHECK_INT(rt, <, 1000);
    }
    TEST_PASS("latency added through the API delays the next round trip of every open connection");

    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics/latency_downstream",
                       "{\"attributes\":{\"latency\":400}}", NULL),
             200);
    rt = sk_round_trip(c[0], s[0]);
    fprintf(stderr, "latency changed to 400: %lld ms\n", (long long)rt);
    CHECK_INT(rt, >=, 395);
    CHECK_INT(rt, <, 1200);
    TEST_PASS("latency changed: the new value on the open connection");

    CHECK_EQ(http_json(admin, "DELETE", "/proxies/db/toxics/latency_downstream", NULL, NULL), 204);
    for (int i = 0; i < 3; i++) {
        rt = sk_round_trip(c[i], s[i]);
        CHECK_INT(rt, <, 100);
    }
    TEST_PASS("latency removed: open connections are fast again");

    /* bytes the toxic holds when it goes are written at once, in order, before later ones */
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"latency\",\"stream\":\"downstream\","
                       "\"attributes\":{\"latency\":5000}}",
                       NULL),
             200);
    CHECK_EQ(sk_write_pattern(s[1], 0, 100000, 2000), 0);
    CHECK(sk_silent(c[1], 200));
    t0 = now_ms();
    CHECK_EQ(http_json(admin, "DELETE", "/proxies/db/toxics/latency_downstream", NULL, NULL), 204);
    CHECK_EQ(sk_write_pattern(s[1], 100000, 100000, 2000), 0);
    sk_shut_wr(s[1]);
    r = sk_read_until_end(c[1], 3000, true, 0);
    fprintf(stderr, "held bytes released in %lld ms\n", (long long)(r.end_ms - t0));
    CHECK_UINT(r.bytes, ==, 200000);
    CHECK(r.pattern_ok);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_INT(r.end_ms - t0, <, 1000);
    TEST_PASS("latency removed: what it held arrives at once, in order, then the FIN");

    for (int i = 0; i < 3; i++) {
        close(c[i]);
        close(s[i]);
    }
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
