/* A latency toxic with `for` added through the admin API to a pooled connection: round trips
 * are delayed while it lasts and not after; GET shows the time left going down, and the toxic
 * leaves GET /proxies/x/toxics when it runs out. Added again, it attaches again. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define FOR_MS 1200

/* The toxic's for_left_ms from GET, or -1 when it is not there. */
static int64_t for_left(uint16_t admin, const char *toxic)
{
    char path[200];
    json_t *j = NULL;
    int64_t left = -1;

    snprintf(path, sizeof path, "/proxies/db/toxics/%s", toxic);
    if (http_json(admin, "GET", path, NULL, &j) == 200) {
        CHECK_INT(json_integer_value(json_object_get(j, "for")), ==, FOR_MS);
        left = json_integer_value(json_object_get(j, "for_left_ms"));
    }
    json_decref(j);
    return left;
}

static size_t ntoxics(uint16_t admin)
{
    json_t *j = NULL;
    size_t n;

    CHECK_EQ(http_json(admin, "GET", "/proxies/db/toxics", NULL, &j), 200);
    CHECK(json_is_array(j));
    n = json_array_size(j);
    json_decref(j);
    return n;
}

int main(void)
{
    uint16_t up = 0, admin, port;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\nproxies: []\n");
    int64_t t0, t1, rt, left1, left2, gone;
    json_t *j = NULL;

    admin = http_admin_port(fw);
    port = http_create_proxy(admin, "db", up);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_INT(sk_round_trip(c, s), <, 100);

    /* bad values are refused as in a file, and change nothing */
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"latency\",\"for\":0,\"attributes\":{\"latency\":200}}", &j),
             400);
    CHECK(strstr(json_string_value(json_object_get(j, "error")), "'for' must be more than 0"));
    json_decref(j);
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"latency\",\"for\":\"soon\",\"attributes\":{\"latency\":200}}",
                       NULL),
             400);
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"latency\",\"for\":1.5,\"attributes\":{\"latency\":200}}", NULL),
             400);
    CHECK_UINT(ntoxics(admin), ==, 0);
    TEST_PASS("for: 0, a word or a fraction without a unit are refused (400)");

    t0 = now_ms();
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"latency\",\"stream\":\"downstream\",\"for\":1200,"
                       "\"attributes\":{\"latency\":200}}",
                       &j),
             200);
    t1 = now_ms();
    CHECK_INT(json_integer_value(json_object_get(j, "for")), ==, FOR_MS);
    CHECK_INT(json_integer_value(json_object_get(j, "for_left_ms")), <=, FOR_MS);
    CHECK(json_object_get(json_object_get(j, "attributes"), "for") == NULL);
    json_decref(j);
    rt = sk_round_trip(c, s);
    fprintf(stderr, "round trip while it lasts: %lld ms\n", (long long)rt);
    CHECK_INT(rt, >=, 195);
    left1 = for_left(admin, "latency_downstream");
    rt = sk_round_trip(c, s);
    CHECK_INT(rt, >=, 195);
    left2 = for_left(admin, "latency_downstream");
    fprintf(stderr, "for_left_ms: %lld then %lld\n", (long long)left1, (long long)left2);
    /* a round trip of 200 ms or more passed between the two answers */
    CHECK_INT(left1, <=, FOR_MS);
    CHECK_INT(left2, >=, 0);
    CHECK_INT(left1 - left2, >=, 150);
    TEST_PASS("latency with for delays the pooled connection; GET shows for_left_ms going down");

    CHECK(fwp_wait_log(fw, "fault 'latency_downstream' of proxy 'db' ran its 1200ms: detached",
                       FOR_MS + 5000));
    gone = now_ms();
    fprintf(stderr, "detached %lld..%lld ms after the toxic was added\n", (long long)(gone - t1),
            (long long)(gone - t0));
    CHECK_INT(gone - t0, >=, FOR_MS - 20);
    CHECK_INT(gone - t1, <, FOR_MS + 2000);
    CHECK_UINT(ntoxics(admin), ==, 0);
    CHECK_EQ(http_json(admin, "GET", "/proxies/db/toxics/latency_downstream", NULL, NULL), 404);
    rt = sk_round_trip(c, s);
    fprintf(stderr, "round trip after: %lld ms\n", (long long)rt);
    CHECK_INT(rt, <, 100);
    TEST_PASS("when it runs out the toxic leaves the API and the open connection");

    /* the same toxic added again is a new injection: it attaches, with a new clock; `for` may
     * also be a duration text, and sit among the attributes as Toxiproxy's clients send it */
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"latency\",\"stream\":\"downstream\","
                       "\"attributes\":{\"latency\":200,\"for\":\"1200ms\"}}",
                       NULL),
             200);
    rt = sk_round_trip(c, s);
    CHECK_INT(rt, >=, 195);
    CHECK_INT(for_left(admin, "latency_downstream"), >, 0);
    /* null takes the time box away: the toxic stays */
    CHECK_EQ(
        http_json(admin, "POST", "/proxies/db/toxics/latency_downstream", "{\"for\":null}", &j),
        200);
    CHECK(json_object_get(j, "for") == NULL && json_object_get(j, "for_left_ms") == NULL);
    json_decref(j);
    usleep((FOR_MS + 300) * 1000); /* past the first clock: nothing may end it now */
    CHECK_UINT(ntoxics(admin), ==, 1);
    CHECK_INT(sk_round_trip(c, s), >=, 195);
    TEST_PASS("added again it attaches again; for: null makes it stay");

    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
