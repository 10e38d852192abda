/* GET /events holds an admin connection for as long as the stream lives: streams may take all
 * but one of admin.max_connections (503 past that), and a subscriber that goes away while
 * nothing is sent frees its connection within a bound. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "evstream.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    struct fwp *fw = fwp_start("admin: {listen: 127.0.0.1:0, max_connections: 4}\n"
                               "proxies:\n"
                               "  - {name: l, listen: 127.0.0.1:0, upstream: 127.0.0.1:9}\n");
    uint16_t admin = http_admin_port(fw);
    struct ev_sub *sub[3], *again = NULL;
    json_t *j = NULL;
    int64_t t0;
    int status;

    for (int i = 0; i < 3; i++)
        sub[i] = ev_subscribe(admin, "", 0);
    CHECK_EQ(http_json(admin, "GET", "/events", NULL, &j), 503);
    CHECK_CONTAINS(json_string_value(json_object_get(j, "error")), "too many event streams");
    json_decref(j);
    CHECK_EQ(http_json(admin, "GET", "/version", NULL, NULL), 200);
    TEST_PASS("streams leave one admin connection for requests");

    /* a subscriber leaves while its stream is idle: libmicrohttpd does not watch a suspended
     * connection, finwait looks every request_timeout/10 (1 s) */
    ev_close(sub[0]);
    t0 = now_ms();
    while (!(again = ev_try_subscribe(admin, "", 0, &status)) && now_ms() - t0 < 5000) {
        CHECK_EQ(status, 503);
        usleep(50000);
    }
    CHECK_MSG(again, "the admin connection of a closed subscriber is still taken after 5 s");
    fprintf(stderr, "a closed subscriber's connection freed after %lld ms\n",
            (long long)(now_ms() - t0));
    TEST_PASS("a subscriber that went away frees its connection");

    ev_close(again);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    ev_close(sub[1]);
    ev_close(sub[2]);
    return 0;
}
