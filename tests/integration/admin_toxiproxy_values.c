/* The admin API takes Toxiproxy's values where their meaning is clear: bandwidth `rate: 0`
 * stalls the data until the rate changes (Testcontainers' way to cut a link), a slicer's
 * size_variation may reach average_size, a toxicity above 1 means 1. */
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
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\nproxies: []\n");
    json_t *j = NULL;
    struct sk_read r;
    int64_t t0;

    admin = http_admin_port(fw);
    port = http_create_proxy(admin, "db", up);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);

    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"bandwidth\",\"attributes\":{\"rate\":0}}", NULL),
             200);
    CHECK_EQ(sk_write_pattern(s, 0, 1000, 1000), 0);
    CHECK(sk_silent(c, 500));
    t0 = now_ms();
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics/bandwidth_downstream",
                       "{\"attributes\":{\"rate\":1000}}", NULL),
             200);
    r = sk_read_n(c, 1000, 2000);
    CHECK_UINT(r.bytes, ==, 1000);
    CHECK_INT(r.end_ms - t0, <, 1000);
    CHECK_EQ(http_json(admin, "DELETE", "/proxies/db/toxics/bandwidth_downstream", NULL, NULL),
             204);
    TEST_PASS("bandwidth rate 0 stalls an open connection's data; a rate given releases it");

    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"slicer\",\"attributes\":{\"average_size\":10,"
                       "\"size_variation\":20,\"delay\":0}}",
                       NULL),
             200);
    CHECK_EQ(sk_write_pattern(s, 0, 5000, 1000), 0);
    r = sk_read_until_end(c, 2000, true, 5000);
    CHECK_UINT(r.bytes, ==, 5000);
    CHECK(r.pattern_ok);
    CHECK_EQ(http_json(admin, "DELETE", "/proxies/db/toxics/slicer_downstream", NULL, NULL), 204);
    TEST_PASS("slicer size_variation above average_size: accepted, every byte through");

    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"latency\",\"toxicity\":2,\"attributes\":{\"latency\":1}}", &j),
             200);
    CHECK(json_number_value(json_object_get(j, "toxicity")) == 1.0);
    json_decref(j);
    TEST_PASS("toxicity 2 means 1");

    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
