/* Each data burst keeps its own time. A client writes 3 bytes, then 3 more 200 ms later, then 3
 * more 200 ms after that: they were one event, "data 9 B" at the first burst's time, as if the
 * client had sent 9 bytes at once. Bursts further apart than the merge bound (10 ms) are events
 * of their own, each at the time it was relayed; bursts closer than that are one event that
 * keeps its first and last time (t_ms, t_last_ms) and how many it merged (bursts). Checked in
 * the connection's timeline from the admin API, and in the drawn diagram. */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define GAP_MS  200
#define BURSTS  3
#define QUICK_N 50 /* one-byte writes 1 ms apart: one event */

static uint16_t admin;

/* The proxy's one connection's timeline (the caller decrefs the connection). */
static json_t *conn_timeline(json_t **conn)
{
    CHECK_EQ(http_json(admin, "GET", "/proxies/b/connections/1", NULL, conn), 200);
    return json_object_get(*conn, "timeline");
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                               "proxies:\n  - {name: b, listen: 127.0.0.1:0, upstream: "
                               "127.0.0.1:%u}\n",
                               up);
    int64_t sent[BURSTS], got[BURSTS];
    double t[BURSTS + 1], last = 0;
    json_t *conn = NULL, *tl, *e;
    struct http_resp r;
    size_t i;
    int n = 0, merged = 0;
    json_int_t down = 0;

    admin = http_admin_port(fw);
    port = fwp_port(fw, "b");
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    for (int k = 0; k < BURSTS; k++) {
        if (k > 0)
            poll(NULL, 0, GAP_MS);
        sent[k] = now_ms();
        CHECK_EQ(sk_write_all(c, "abc", 3, 1000), 0);
        /* the server has it: the burst was relayed before the next is written */
        CHECK_UINT(sk_read_n(s, 3, 2000).bytes, ==, 3);
        got[k] = now_ms();
    }
    /* the server answers in a quick run of small writes, closer together than the bound */
    poll(NULL, 0, GAP_MS);
    for (int k = 0; k < QUICK_N; k++) {
        CHECK_EQ(sk_write_all(s, "x", 1, 1000), 0);
        poll(NULL, 0, 1);
    }
    CHECK_UINT(sk_read_n(c, QUICK_N, 2000).bytes, ==, QUICK_N);

    tl = conn_timeline(&conn);
    CHECK(json_is_array(tl));
    json_array_foreach(tl, i, e)
    {
        const char *ev = json_string_value(json_object_get(e, "event"));
        const char *dir = json_string_value(json_object_get(e, "direction"));

        if (strcmp(ev, "data") != 0)
            continue;
        if (strcmp(dir, "upstream") == 0) {
            CHECK_MSG(n < BURSTS, "more upstream data events than bursts: %s",
                      json_dumps(tl, JSON_INDENT(1)));
            CHECK_EQ(json_integer_value(json_object_get(e, "bytes")), 3);
            CHECK_EQ(json_integer_value(json_object_get(e, "bursts")), 1);
            t[n++] = json_real_value(json_object_get(e, "t_ms"));
            continue;
        }
        /* the server's quick run: merged, each event spanning its first and last write (a
         * stall of the machine over the bound may split it, never lose a byte) */
        CHECK_STR(dir, "downstream");
        down += json_integer_value(json_object_get(e, "bytes"));
        if (json_integer_value(json_object_get(e, "bursts")) >= 2) {
            merged++;
            CHECK_DBL(json_real_value(json_object_get(e, "t_last_ms")), >,
                      json_real_value(json_object_get(e, "t_ms")));
        }
        last = json_real_value(json_object_get(e, "t_last_ms"));
    }
    CHECK_INT(down, ==, QUICK_N);
    CHECK_INT(merged, >=, 1);
    CHECK_MSG(n == BURSTS, "%d upstream data events, wanted %d (one per burst): %s", n, BURSTS,
              json_dumps(tl, JSON_INDENT(1)));
    CHECK_DBL(last, >, 0);
    /* each at its own time: burst k-1 was relayed before the server had it, burst k after
     * the client wrote it (1 ms: now_ms() is truncated) */
    for (int k = 1; k < BURSTS; k++)
        CHECK_DBL(t[k] - t[k - 1], >=, (double)(sent[k] - got[k - 1]) - 1);
    json_decref(conn);

    /* the diagram: three arrows of 3 B, and the run as one, with its last time */
    CHECK_EQ(http_req(admin, "GET", "/proxies/b/connections/1",
                      "Host: 127.0.0.1\r\nAccept: text/plain\r\n", NULL, &r),
             200);
    fprintf(stderr, "%s", r.body);
    {
        const char *p = r.body;
        int arrows = 0;
        while ((p = strstr(p, "--- 3 B ---")))
            arrows++, p++;
        CHECK_INT(arrows, ==, 2 * BURSTS); /* each drawn client->finwait and finwait->server */
    }
    CHECK_CONTAINS(r.body, " bursts to "); /* the run's note */
    http_resp_free(&r);

    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("data bursts: each keeps its time; a quick run is one event with first and last");
    return 0;
}
