/* Toxiproxy's Go client sends "name": "" for a toxic it does not name: finwait gives it the
 * default TYPE_STREAM name, as Toxiproxy does, so the next unnamed toxic is no conflict and
 * the default name finds it for update and removal. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0, admin;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\nproxies: []\n");
    char body[256];
    json_t *j = NULL;

    admin = http_admin_port(fw);
    snprintf(body, sizeof body,
             "{\"name\":\"db\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(http_json(admin, "POST", "/proxies", body, NULL), 201);
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"name\":\"\",\"type\":\"latency\",\"stream\":\"downstream\","
                       "\"toxicity\":1,\"attributes\":{\"latency\":10}}",
                       &j),
             200);
    CHECK_STR(json_string_value(json_object_get(j, "name")), "latency_downstream");
    json_decref(j);
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"name\":\"\",\"type\":\"bandwidth\",\"stream\":\"upstream\","
                       "\"attributes\":{\"rate\":100}}",
                       &j),
             200);
    CHECK_STR(json_string_value(json_object_get(j, "name")), "bandwidth_upstream");
    json_decref(j);
    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics/latency_downstream",
                       "{\"name\":\"\",\"attributes\":{\"latency\":20}}", &j),
             200);
    CHECK_STR(json_string_value(json_object_get(j, "name")), "latency_downstream");
    json_decref(j);
    CHECK_EQ(http_json(admin, "DELETE", "/proxies/db/toxics/latency_downstream", NULL, NULL), 204);
    CHECK_EQ(http_json(admin, "DELETE", "/proxies/db/toxics/bandwidth_upstream", NULL, NULL), 204);
    TEST_PASS("an empty toxic name means TYPE_STREAM: created, updated and removed by it");

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
