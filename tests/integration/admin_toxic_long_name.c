/* A toxic's name may be as long as 200 bytes. Adding one with a 200-character name to a
 * proxy with an open connection logs "fault NAME: added to this open connection"; the event's
 * text is built in a fixed buffer, and a name longer than it made the rest of the text be
 * written past its end (the fuzzer found it, UBSan: index 202 out of bounds for char[200]).
 * The event is logged, cut short, and the connection and the API carry on. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0, admin, port;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\nproxies: []\n");
    char name[201], body[1024], path[400];
    int c, s;

    admin = http_admin_port(fw);
    snprintf(body, sizeof body,
             "{\"name\":\"db\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(http_json(admin, "POST", "/proxies", body, NULL), 201);
    port = fwp_port(fw, "db");
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);

    for (size_t i = 0; i < sizeof name - 1; i++)
        name[i] = (char)('a' + i % 26);
    name[sizeof name - 1] = '\0';
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"type\":\"latency\",\"stream\":\"downstream\","
             "\"attributes\":{\"latency\":1}}",
             name);
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics", body, NULL), 200);
    CHECK(fwp_wait_log(fw, "fault abcdefghijklmnopqrstuvwxyz", 3000));
    TEST_PASS("a toxic named with 200 characters (the most allowed) is added to an open connection "
              "and logged");

    CHECK(sk_round_trip(c, s) >= 0);
    CHECK_EQ(http_json(admin, "GET", "/version", NULL, NULL), 200);
    snprintf(path, sizeof path, "/proxies/db/toxics/%s", name);
    CHECK_EQ(http_json(admin, "DELETE", path, NULL, NULL), 204);
    CHECK(sk_round_trip(c, s) >= 0);
    TEST_PASS("the connection relays and the API answers after it, and it is removed by name");

    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
