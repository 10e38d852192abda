/* A connection's timeline is recorded without log.timeline, within a bound: after many round
 * trips (each two events) GET /proxies/{proxy}/connections/{id} gives at most 256 events, the
 * first ones and the latest (the client's FIN is there), and the drawn diagram says how many
 * in between were left out. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define ROUND_TRIPS 300
#define TL_MAX      256 /* proxy/relay/timeline.h's TL_MAX_EVENTS */

int main(void)
{
    uint16_t up = 0, admin;
    int lfd = sk_listen("127.0.0.1", &up), cfd, sfd;
    struct fwp *fw;
    struct http_resp r;
    json_t *c = NULL, *tl, *e;
    bool accepted = false, fin = false;
    size_t i;

    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "log: {level: warn}\n"
                   "proxies:\n"
                   "  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                   up);
    admin = http_admin_port(fw);
    sk_pair(NULL, "127.0.0.1", fwp_port(fw, "t"), lfd, &cfd, &sfd);
    for (int k = 0; k < ROUND_TRIPS; k++)
        sk_round_trip(cfd, sfd);
    sk_shut_wr(cfd);
    CHECK_STR(sk_end_name(sk_read_until_end(sfd, 5000, false, 0).end), "EOF");

    CHECK_EQ(http_json(admin, "GET", "/proxies/t/connections/1", NULL, &c), 200);
    tl = json_object_get(c, "timeline");
    CHECK_UINT(json_array_size(tl), ==, TL_MAX);
    json_array_foreach(tl, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "event"));
        accepted |= strcmp(name, "accepted") == 0;
        fin |= strcmp(name, "fin_received") == 0;
    }
    CHECK(accepted); /* the beginning is kept */
    CHECK(fin);      /* and so is the end */
    json_decref(c);

    CHECK_EQ(http_req(admin, "GET", "/proxies/t/connections/1",
                      "Host: 127.0.0.1\r\nAccept: text/plain\r\n", NULL, &r),
             200);
    CHECK_CONTAINS(r.body, "more events not shown");
    CHECK_CONTAINS(r.body, "client leg CLOSE_WAIT");
    http_resp_free(&r);

    close(cfd);
    close(sfd);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("a connection's timeline keeps its first and latest events, within 256");
    return 0;
}
