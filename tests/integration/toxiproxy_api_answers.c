/* The answers Toxiproxy's clients and test suites compare, byte for byte: a field sent as null
 * is a field left out, `listen` may be left out, Toxiproxy's error texts and statuses (finwait's
 * help in `detail`, never in `error`), the router's 404 text and bodiless 405, /version's API
 * level and content type, opaque request ids, and the `noop` toxic. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "pair.h"
#include "proc.h"
#include "sock.h"

static uint16_t api;

/* `method path body` must answer `status` with exactly `want` as its body. */
static void exact(const char *method, const char *path, const char *body, int status,
                  const char *want)
{
    struct http_resp r;

    CHECK_EQ(http_req(api, method, path, NULL, body, &r), status);
    CHECK_STR(r.body, want);
    http_resp_free(&r);
}

/* An error answer: `status`, Toxiproxy's `error` text exactly, and `detail` containing
 * `detail` (NULL: no detail at all). */
static void error_is(const char *method, const char *path, const char *body, int status,
                     const char *error, const char *detail)
{
    struct http_resp r;

    CHECK_EQ(http_req(api, method, path, NULL, body, &r), status);
    CHECK_MSG(r.json, "not JSON: %s", r.body);
    CHECK_STR(json_string_value(json_object_get(r.json, "error")), error);
    CHECK_EQ(json_integer_value(json_object_get(r.json, "status")), status);
    if (detail)
        CHECK_CONTAINS(json_string_value(json_object_get(r.json, "detail")), detail);
    else
        CHECK(!json_object_get(r.json, "detail"));
    http_resp_free(&r);
}

static bool is_xid(const char *id)
{
    if (!id || strlen(id) != 20)
        return false;
    for (const char *c = id; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'v')))
            return false;
    return true;
}

int main(void)
{
    uint16_t up = 0, busy_port = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), busy = sk_listen("127.0.0.1", &busy_port);
    char body[512], want[512], id1[32];
    struct fwp *fw;
    struct http_resp r;
    json_t *j;

    fw = fwp_start_argv(NULL, (const char *[]){"-host=127.0.0.1", "-port=0", NULL}, "admin API");
    api = fwp_admin_port(fw);
    CHECK(api != 0);

    CHECK_EQ(http_req(api, "GET", "/version", NULL, NULL, &r), 200);
    CHECK_STR(http_header(&r, "Content-Type"), "application/json;charset=utf-8");
    CHECK_STR(json_string_value(json_object_get(r.json, "version")), "2.12.0");
    CHECK_STR(json_string_value(json_object_get(r.json, "finwait")), FINWAIT_VERSION);
    CHECK_MSG(is_xid(http_header(&r, "X-Toxiproxy-Request-Id")), "request id '%s'",
              http_header(&r, "X-Toxiproxy-Request-Id"));
    snprintf(id1, sizeof id1, "%s", http_header(&r, "X-Toxiproxy-Request-Id"));
    http_resp_free(&r);
    CHECK_EQ(http_req(api, "GET", "/proxies", NULL, NULL, &r), 200);
    CHECK_STR(http_header(&r, "Content-Type"), "application/json");
    CHECK(is_xid(http_header(&r, "X-Toxiproxy-Request-Id")));
    CHECK(strcmp(id1, http_header(&r, "X-Toxiproxy-Request-Id")) != 0);
    http_resp_free(&r);
    TEST_PASS("/version: Toxiproxy's API level and content type, finwait's version beside; "
              "request ids are 20 base32hex characters, a new one per request");

    static const char *const nowhere[] = {"/nothing", "/proxies/db/toxicsX",
                                          "/proxies/a/toxics/b/c", "/"};
    for (size_t i = 0; i < sizeof nowhere / sizeof nowhere[0]; i++) {
        CHECK_EQ(http_req(api, "GET", nowhere[i], NULL, NULL, &r), 404);
        CHECK_STR(http_header(&r, "Content-Type"), "text/plain; charset=utf-8");
        CHECK_STR(r.body, "404 page not found\n");
        http_resp_free(&r);
    }
    exact("PUT", "/proxies", "{}", 405, "");
    exact("DELETE", "/version", NULL, 405, "");
    exact("GET", "/reset", NULL, 405, "");
    error_is("GET", "/proxies/nope", NULL, 404, "proxy not found", NULL);
    TEST_PASS("unknown routes: 404 text/plain '404 page not found'; a known route's other "
              "method: 405 without a body; a known route's errors stay JSON");

    exact("POST", "/proxies", "{\"name\":\"b\"}", 400,
          "{\"error\":\"missing required field: upstream\",\"status\":400}");
    exact("POST", "/proxies", "{\"name\":\"b\",\"upstream\":\"\"}", 400,
          "{\"error\":\"missing required field: upstream\",\"status\":400}");
    exact("POST", "/proxies", "{\"name\":\"b\",\"upstream\":null}", 400,
          "{\"error\":\"missing required field: upstream\",\"status\":400}");
    exact("POST", "/proxies", NULL, 400, "{\"error\":\"bad request body: EOF\",\"status\":400}");
    exact("POST", "/proxies", "{\"upstream\":\"127.0.0.1:1\"}", 400,
          "{\"error\":\"missing required field: name\",\"status\":400}");
    error_is("POST", "/proxies",
             "{\"name\":\"e\",\"upstream\":\"127.0.0.1:1\",\"enabled\":\"yes\"}", 400,
             "bad request body: json: cannot unmarshal string into Go struct field "
             "Proxy.enabled of type bool",
             "enabled must be true or false");
    snprintf(body, sizeof body,
             "[{\"name\":\"p1\",\"upstream\":\"127.0.0.1:%u\"},{\"upstream\":\"127.0.0.1:%u\"}]",
             up, up);
    exact("POST", "/populate", body, 400,
          "{\"error\":\"missing required field: name at proxy 2\",\"status\":400,"
          "\"proxies\":null}");
    snprintf(
        body, sizeof body,
        "[{\"name\":\"p1\",\"upstream\":\"127.0.0.1:%u\"},{\"name\":\"p2\"},{\"name\":\"p3\"}]",
        up);
    exact("POST", "/populate", body, 400,
          "{\"error\":\"missing required field: upstream at proxy 2\",\"status\":400,"
          "\"proxies\":null}");
    exact("GET", "/proxies", NULL, 200, "{}");
    TEST_PASS("missing name or upstream: Toxiproxy's words, 1-based 'at proxy N' in a populate, "
              "which creates nothing");

    snprintf(body, sizeof body,
             "{\"name\":\"x\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"127.0.0.1:%u\"}",
             busy_port, up);
    snprintf(want, sizeof want, "listen tcp 127.0.0.1:%u: bind: address already in use", busy_port);
    error_is("POST", "/proxies", body, 500, want, "nothing changed");
    snprintf(body, sizeof body,
             "{\"name\":\"a\",\"listen\":\"localhost:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(http_json(api, "POST", "/proxies", body, &j), 201);
    port = http_listen_port(json_string_value(json_object_get(j, "listen")));
    json_decref(j);
    snprintf(body, sizeof body,
             "{\"name\":\"b\",\"listen\":\"localhost:%u\",\"upstream\":\"127.0.0.1:%u\"}", port,
             up);
    snprintf(want, sizeof want, "listen tcp 127.0.0.1:%u: bind: address already in use", port);
    error_is("POST", "/proxies", body, 500, want, "proxy 'a' listens there");
    CHECK_EQ(http_json(api, "DELETE", "/proxies/a", NULL, NULL), 204);
    TEST_PASS("an address in use (by a socket or by another proxy): 500 and Go's 'listen tcp "
              "ADDR: bind: address already in use', finwait's reason in detail");

    /* Shopify's Ruby client sends "enabled": null on every create */
    snprintf(body, sizeof body,
             "{\"name\":\"n\",\"upstream\":\"127.0.0.1:%u\",\"enabled\":null,\"listen\":null,"
             "\"toxics\":null}",
             up);
    CHECK_EQ(http_json(api, "POST", "/proxies", body, &j), 201);
    CHECK(json_is_true(json_object_get(j, "enabled")));
    snprintf(want, sizeof want, "127.0.0.1:");
    CHECK_CONTAINS(json_string_value(json_object_get(j, "listen")), want);
    port = http_listen_port(json_string_value(json_object_get(j, "listen")));
    CHECK(port != 0);
    json_decref(j);
    sk_relays(lfd, "127.0.0.1", port);
    CHECK_EQ(http_json(api, "PATCH", "/proxies/n", "{\"enabled\":null,\"upstream\":null}", &j),
             200);
    CHECK(json_is_true(json_object_get(j, "enabled")));
    json_decref(j);
    sk_relays(lfd, "127.0.0.1", port);
    TEST_PASS("null is a field left out (enabled, listen, upstream, toxics); no listen: an "
              "ephemeral port on the API's host, written back");

    exact("POST", "/proxies/n/toxics", "{\"type\":\"noop\"}", 200,
          "{\"name\":\"noop_downstream\",\"type\":\"noop\",\"stream\":\"downstream\","
          "\"toxicity\":1,\"attributes\":{}}");
    sk_relays(lfd, "127.0.0.1", port);
    {
        int c, s;
        sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
        CHECK_EQ(http_req(api, "GET", "/proxies/n/connections", NULL, NULL, &r), 200);
        CHECK_CONTAINS(r.body, "does nothing (noop)");
        http_resp_free(&r);
        close(c);
        close(s);
    }
    exact("PATCH", "/proxies/n/toxics/noop_downstream", "{\"toxicity\":0.5,\"attributes\":null}",
          200,
          "{\"name\":\"noop_downstream\",\"type\":\"noop\",\"stream\":\"downstream\","
          "\"toxicity\":0.5,\"attributes\":{}}");
    TEST_PASS("the noop toxic: added and updated as Toxiproxy's, the bytes pass untouched, and "
              "an open connection says it does nothing");

    exact("POST", "/proxies/n/toxics",
          "{\"type\":\"latency\",\"name\":null,\"stream\":null,\"toxicity\":null,"
          "\"attributes\":null}",
          200,
          "{\"name\":\"latency_downstream\",\"type\":\"latency\",\"stream\":\"downstream\","
          "\"toxicity\":1,\"attributes\":{\"latency\":0,\"jitter\":0}}");
    exact("POST", "/proxies/n/toxics",
          "{\"type\":\"latency\",\"stream\":\"Upstream\",\"attributes\":{\"latency\":null}}", 200,
          "{\"name\":\"latency_upstream\",\"type\":\"latency\",\"stream\":\"upstream\","
          "\"toxicity\":1,\"attributes\":{\"latency\":0,\"jitter\":0}}");
    error_is("POST", "/proxies/n/toxics", "{\"type\":\"latency\",\"stream\":\"sideways\"}", 400,
             "stream was invalid, can be either upstream or downstream", NULL);
    error_is("POST", "/proxies/n/toxics", "{\"type\":\"bogus\"}", 400, "invalid toxic type",
             "unknown fault type 'bogus'");
    error_is("POST", "/proxies/n/toxics", "{}", 400, "invalid toxic type", "missing type");
    error_is("POST", "/proxies/n/toxics", "{\"type\":\"noop\"}", 409, "toxic already exists", NULL);
    error_is("PATCH", "/proxies/n/toxics/nope", "{}", 404, "toxic not found", NULL);
    exact("PATCH", "/proxies/n/toxics/latency_upstream", "{\"toxicity\":0.3}", 200,
          "{\"name\":\"latency_upstream\",\"type\":\"latency\",\"stream\":\"upstream\","
          "\"toxicity\":0.3,\"attributes\":{\"latency\":0,\"jitter\":0}}");
    TEST_PASS("toxics: null fields left out, a stream in any case, Toxiproxy's error texts, "
              "a toxicity written as Go writes it (1, 0.3)");

    close(lfd);
    close(busy);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
