/* The admin API edits a JSON copy of the configuration and loads it again: every value and
 * name of the file must survive that trip exactly. A seed above 2^63-1, the largest after_bytes, or
 * a proxy named `nan`, made every later change fail; proxies named `1e2` and `007` were renamed
 * `100.0` and `7` by an unrelated change (and got a new port). */
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

static const char *const names[] = {"nan", "1e2", "007", "0x10", "true", "1_000", "db"};
#define NNAMES (sizeof names / sizeof names[0])

int main(void)
{
    uint16_t up = 0, port, before[NNAMES];
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fwp *fw;
    struct http_resp r;
    json_t *p;

    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "seed: 18446744073709551615\n"
                   "proxies:\n"
                   "  - name: nan\n"
                   "    listen: 127.0.0.1:0\n"
                   "    upstream: 127.0.0.1:%u\n"
                   "    faults:\n"
                   "      - {type: reset, after_bytes: 1000000000000000, probability: 0.1}\n"
                   "  - {name: 1e2, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                   "  - {name: 007, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u, enabled: yes}\n"
                   "  - {name: 0x10, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                   "  - {name: true, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                   "  - {name: 1_000, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                   "  - {name: db, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                   up, up, up, up, up, up, up);
    port = http_admin_port(fw);
    for (size_t i = 0; i < NNAMES; i++)
        CHECK((before[i] = fwp_port(fw, names[i])) != 0);

    CHECK_EQ(http_req(port, "POST", "/proxies/db/toxics", NULL,
                      "{\"type\":\"latency\",\"attributes\":{\"latency\":1}}", &r),
             200);
    http_resp_free(&r);
    CHECK_EQ(http_req(port, "DELETE", "/proxies/db/toxics/latency_downstream", NULL, NULL, &r),
             204);
    http_resp_free(&r);
    TEST_PASS("changes through the API after a file with 2^64-1 and a proxy named nan");

    CHECK_EQ(http_req(port, "GET", "/proxies", NULL, NULL, &r), 200);
    CHECK_EQ(json_object_size(r.json), NNAMES);
    for (size_t i = 0; i < NNAMES; i++) {
        const char *listen;
        p = json_object_get(r.json, names[i]);
        CHECK_MSG(p != NULL, "proxy '%s' is gone: %s", names[i], r.body);
        CHECK_STR(json_string_value(json_object_get(p, "name")), names[i]);
        listen = json_string_value(json_object_get(p, "listen"));
        CHECK_EQ(atoi(strrchr(listen, ':') + 1), before[i]);
        sk_pair(NULL, "127.0.0.1", before[i], lfd, &c, &s);
        close(c);
        close(s);
    }
    http_resp_free(&r);
    CHECK_EQ(http_req(port, "GET", "/proxies/nan/toxics/reset", NULL, NULL, &r), 200);
    /* the largest count the loader takes (10^15) comes back as the same integer */
    CHECK_INT(
        json_integer_value(json_object_get(json_object_get(r.json, "attributes"), "after_bytes")),
        ==, 1000000000000000LL);
    http_resp_free(&r);
    TEST_PASS("every name and value as written, every proxy on the port it had");

    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    close(lfd);
    return 0;
}
