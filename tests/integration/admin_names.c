/* Names in the admin API: a proxy's or toxic's name is a string that can be addressed in a
 * URL path, a rename is refused whatever the type of the name given, a toxic's name is not an
 * attribute, and an address that is no address is a bad request (400), not a conflict. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

static uint16_t port;

/* The status of a request; with status >= 400 the error must mention `want` (if given). */
static int call(const char *method, const char *path, const char *body, const char *want)
{
    struct http_resp r;
    int st = http_req(port, method, path, NULL, body, &r);

    CHECK_MSG(st != 0, "no answer to %s %s (did finwait crash?)", method, path);
    if (st >= 400 && want)
        CHECK_CONTAINS(json_string_value(json_object_get(r.json, "error")), want);
    http_resp_free(&r);
    return st;
}

/* GET `path` and return the JSON (caller frees). */
static json_t *get(const char *path)
{
    struct http_resp r;
    json_t *j;

    CHECK_EQ(http_req(port, "GET", path, NULL, NULL, &r), 200);
    j = json_incref(r.json);
    http_resp_free(&r);
    return j;
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\nproxies: []\n");
    static const char *const not_strings[] = {"-1", "true", "null", "[]", "{}", "5.5"};
    char body[512], path[256];
    json_t *j;

    port = http_admin_port(fw);
    snprintf(body, sizeof body,
             "{\"name\":\"db\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(call("POST", "/proxies", body, NULL), 201);

    for (size_t i = 0; i < sizeof not_strings / sizeof not_strings[0]; i++) {
        /* null is a name left out, as in Toxiproxy: nothing to rename */
        int want = strcmp(not_strings[i], "null") == 0 ? 200 : 400;
        snprintf(body, sizeof body, "{\"name\":%s}", not_strings[i]);
        CHECK_EQ(call("POST", "/proxies/db", body, "cannot be renamed"), want);
        CHECK_EQ(call("PATCH", "/proxies/db", body, "cannot be renamed"), want);
        snprintf(body, sizeof body,
                 "{\"name\":%s,\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}",
                 not_strings[i], up);
        CHECK_INT(call("POST", "/proxies", body, NULL), ==, 400);
    }
    j = get("/proxies");
    CHECK_EQ(json_object_size(j), 1);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "db"), "name")), "db");
    json_decref(j);
    CHECK_EQ(fwp_wait_exit(fw, 0), -1); /* still running */
    TEST_PASS("a proxy's name that is not a string: 400, nothing renamed, no crash");

    snprintf(body, sizeof body,
             "{\"name\":\"a/b\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(call("POST", "/proxies", body, "cannot be used in a URL path"), 400);
    snprintf(body, sizeof body,
             "{\"name\":\"..\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(call("POST", "/proxies", body, "cannot be used in a URL path"), 400);
    /* Toxiproxy's names: `host:port` (Testcontainers' Java module), dots, and anything a
     * client percent-encodes */
    snprintf(body, sizeof body,
             "{\"name\":\"pg.local:5432\",\"listen\":\"127.0.0.1:0\",\"upstream\":"
             "\"127.0.0.1:%u\"}",
             up);
    CHECK_EQ(call("POST", "/proxies", body, NULL), 201);
    j = get("/proxies/pg.local:5432");
    CHECK_STR(json_string_value(json_object_get(j, "name")), "pg.local:5432");
    json_decref(j);
    snprintf(body, sizeof body,
             "{\"name\":\"a b?%%\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(call("POST", "/proxies", body, NULL), 201);
    j = get("/proxies/a%20b%3F%25");
    CHECK_STR(json_string_value(json_object_get(j, "name")), "a b?%");
    json_decref(j);
    CHECK_EQ(call("DELETE", "/proxies/a%20b%3F%25", NULL, NULL), 204);
    CHECK_EQ(call("DELETE", "/proxies/pg.local:5432", NULL, NULL), 204);
    TEST_PASS("a name that cannot be addressed is refused (400); ':' '.' and encoded ones work");

    CHECK_EQ(call("POST", "/proxies/db/toxics",
                  "{\"name\":\"t\",\"type\":\"latency\",\"attributes\":{\"latency\":10}}", NULL),
             200);
    CHECK_EQ(call("POST", "/proxies/db/toxics/t", "{\"name\":5}", "cannot be renamed"), 400);
    /* null: a name left out, as Toxiproxy's decoder takes it; the toxic keeps its own */
    CHECK_EQ(call("POST", "/proxies/db/toxics/t", "{\"name\":null}", NULL), 200);
    CHECK_EQ(call("POST", "/proxies/db/toxics", "{\"name\":5,\"type\":\"latency\"}", "string"),
             400);
    CHECK_EQ(call("POST", "/proxies/db/toxics",
                  "{\"type\":\"latency\",\"attributes\":{\"name\":\"t\",\"latency\":5}}",
                  "not an attribute"),
             400);
    CHECK_EQ(call("POST", "/proxies/db/toxics/t", "{\"attributes\":{\"name\":\"u\"}}",
                  "not an attribute"),
             400);
    CHECK_EQ(call("POST", "/proxies/db/toxics",
                  "{\"name\":\"x/y\",\"type\":\"latency\",\"attributes\":{\"latency\":5}}",
                  "cannot be used in a URL path"),
             400);
    j = get("/proxies/db/toxics");
    CHECK_EQ(json_array_size(j), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "name")), "t");
    json_decref(j);
    TEST_PASS("a toxic keeps its one name: {\"name\": 5} and attributes.name are refused");

    CHECK_EQ(call("POST", "/proxies",
                  "{\"name\":\"x\",\"listen\":\"256.1.1.1:0\",\"upstream\":\"127.0.0.1:1\"}",
                  "invalid address '256.1.1.1:0'"),
             400);
    CHECK_EQ(call("POST", "/proxies",
                  "{\"name\":\"x\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"1.2.3.999:1\"}",
                  "invalid address '1.2.3.999:1'"),
             400);
    snprintf(path, sizeof path, "/proxies/db");
    CHECK_EQ(call("POST", path, "{\"listen\":\"10.0.0.256:0\"}", "invalid address"), 400);
    CHECK_EQ(call("POST", "/proxies", "{\"name\":\"x\",\"listen\":5,\"upstream\":\"a:1\"}",
                  "cannot unmarshal number into Go struct field Proxy.listen of type string"),
             400);
    TEST_PASS("listen 256.1.1.1:0 is a bad request (400), not a conflict (409)");

    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    close(lfd);
    return 0;
}
