/* The admin API speaks Toxiproxy's HTTP API: proxies and toxics are created, changed and
 * removed at run time and the peers see the change on their next connection; a proxy disabled
 * or deleted ends its connections with a FIN; bad requests get Toxiproxy's error body and change
 * nothing. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

static uint16_t admin_port;

/* One HTTP/1.1 request on its own connection; returns the status, *body gets the JSON (or
 * NULL when there is none). */
static int http(const char *method, const char *path, const char *body, json_t **out)
{
    char req[4096], resp[65536];
    int fd = sk_connect("127.0.0.1", admin_port, 2000), status = 0;
    size_t len = 0;
    const char *b;

    CHECK_MSG(fd >= 0, "connect to the admin API: %s", strerror(errno));
    snprintf(req, sizeof req,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: "
             "application/json\r\nContent-Length: %zu\r\n\r\n%s",
             method, path, body ? strlen(body) : 0, body ? body : "");
    CHECK_EQ(sk_write_all(fd, req, strlen(req), 2000), 0);
    for (;;) {
        ssize_t n = read(fd, resp + len, sizeof resp - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    resp[len] = '\0';
    close(fd);
    CHECK_MSG(sscanf(resp, "HTTP/1.1 %d", &status) == 1, "not an HTTP response: %s", resp);
    b = strstr(resp, "\r\n\r\n");
    if (out) {
        json_error_t e;
        *out = b && b[4] ? json_loads(b + 4, 0, &e) : NULL;
        CHECK_MSG(!b || !b[4] || *out, "body is not JSON: %s", b + 4);
    }
    return status;
}

/* The status only; the body must be Toxiproxy's error object when status >= 400, and its
 * message must contain `want` (if given). */
static int call(const char *method, const char *path, const char *body, const char *want)
{
    json_t *j = NULL;
    int st = http(method, path, body, &j);

    if (st >= 400) {
        CHECK_MSG(json_is_string(json_object_get(j, "error")), "no error message (%d)", st);
        CHECK_EQ(json_integer_value(json_object_get(j, "status")), st);
        if (want)
            CHECK_CONTAINS(json_string_value(json_object_get(j, "error")), want);
    }
    json_decref(j);
    return st;
}

static uint16_t port_of(const char *listen)
{
    const char *colon = strrchr(listen, ':');

    CHECK(colon != NULL);
    return (uint16_t)atoi(colon + 1);
}

int main(void)
{
    uint16_t up = 0, db;
    int lfd = sk_listen("127.0.0.1", &up), c0, s0, c1, s1;
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\nproxies: []\n");
    char body[512], *log;
    json_t *j;
    int64_t fast, slow, old;

    CHECK(fwp_wait_log(fw, "admin API (Toxiproxy's) listening on 127.0.0.1:", 5000));
    log = fwp_log(fw);
    admin_port = (uint16_t)atoi(strstr(log, "listening on 127.0.0.1:") + 23);
    free(log);

    CHECK_EQ(http("GET", "/version", NULL, &j), 200);
    CHECK(json_is_string(json_object_get(j, "version")));
    json_decref(j);
    snprintf(body, sizeof body,
             "{\"name\":\"db\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(http("POST", "/proxies", body, &j), 201);
    CHECK_STR(json_string_value(json_object_get(j, "name")), "db");
    CHECK(json_is_true(json_object_get(j, "enabled")));
    db = port_of(json_string_value(json_object_get(j, "listen")));
    CHECK(db != 0); /* the bound port, not the 0 asked for */
    json_decref(j);
    CHECK_EQ(call("POST", "/proxies", body, "proxy already exists"), 409);
    sk_pair(NULL, "127.0.0.1", db, lfd, &c0, &s0);
    fast = sk_round_trip(c0, s0);
    TEST_PASS("POST /proxies: a proxy on the port it reports, relaying");

    CHECK_EQ(http("POST", "/proxies/db/toxics",
                  "{\"type\":\"latency\",\"stream\":\"downstream\",\"toxicity\":1,"
                  "\"attributes\":{\"latency\":300}}",
                  &j),
             200);
    CHECK_STR(json_string_value(json_object_get(j, "name")), "latency_downstream");
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(j, "attributes"), "latency")), 300);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(j, "attributes"), "jitter")), 0);
    json_decref(j);
    sk_pair(NULL, "127.0.0.1", db, lfd, &c1, &s1);
    slow = sk_round_trip(c1, s1);
    old = sk_round_trip(c0, s0);
    fprintf(stderr,
            "round trip %lld ms before, %lld ms with latency 300, %lld ms on the older "
            "connection\n",
            (long long)fast, (long long)slow, (long long)old);
    CHECK_INT(slow, >=, 295);
    CHECK_INT(old, >=, 295);
    close(c1);
    close(s1);
    TEST_PASS("a toxic added through the API delays new and open connections, as Toxiproxy's");

    CHECK_EQ(call("POST", "/proxies/db/toxics/latency_downstream",
                  "{\"attributes\":{\"latency\":0}}", NULL),
             200);
    CHECK_EQ(call("DELETE", "/proxies/db/toxics/latency_downstream", NULL, NULL), 204);
    CHECK_EQ(call("GET", "/proxies/db/toxics/latency_downstream", NULL, "toxic not found"), 404);
    CHECK_EQ(http("GET", "/proxies/db/toxics", NULL, &j), 200);
    CHECK_EQ(json_array_size(j), 0);
    json_decref(j);
    sk_pair(NULL, "127.0.0.1", db, lfd, &c1, &s1);
    CHECK_INT(sk_round_trip(c1, s1), <, 250);
    close(c1);
    close(s1);
    TEST_PASS("update and delete a toxic; GET /toxics lists what is left");

    /* Toxiproxy's words in `error`, finwait's help in `detail` */
    CHECK_EQ(http("POST", "/proxies/db/toxics", "{\"type\":\"latncy\"}", &j), 400);
    CHECK_STR(json_string_value(json_object_get(j, "error")), "invalid toxic type");
    CHECK_CONTAINS(json_string_value(json_object_get(j, "detail")),
                   "unknown fault type 'latncy' (did you mean 'latency'?); valid types: ");
    json_decref(j);
    CHECK_EQ(call("POST", "/proxies/db/toxics",
                  "{\"type\":\"latency\",\"attributes\":{\"latncy\":100}}",
                  "unknown key 'latncy' in fault 'latency' (did you mean 'latency'?)"),
             400);
    CHECK_EQ(call("POST", "/proxies/db/toxics",
                  "{\"type\":\"bandwidth\",\"attributes\":{\"rate\":-5}}", "rate"),
             400);
    CHECK_EQ(call("POST", "/proxies/nope/toxics", "{\"type\":\"latency\"}", "proxy not found"),
             404);
    CHECK_EQ(call("POST", "/proxies", "{\"name\":\"x\",", "bad request body"), 400);
    CHECK_EQ(call("POST", "/proxies",
                  "{\"name\":\"x\",\"listen\":\"nowhere\",\"upstream\":\"a:1\"}",
                  "invalid address 'nowhere'"),
             400);
    {
        uint16_t busy_port = 0;
        int busy = sk_listen("127.0.0.1", &busy_port);
        char want[100];
        snprintf(body, sizeof body,
                 "{\"name\":\"x\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"127.0.0.1:%u\"}",
                 busy_port, up);
        snprintf(want, sizeof want, "listen tcp 127.0.0.1:%u: bind: address already in use",
                 busy_port);
        CHECK_EQ(http("POST", "/proxies", body, &j), 500);
        CHECK_STR(json_string_value(json_object_get(j, "error")), want);
        snprintf(want, sizeof want,
                 "proxy 'x' cannot listen on 127.0.0.1:%u: address already in use", busy_port);
        CHECK_CONTAINS(json_string_value(json_object_get(j, "detail")), want);
        json_decref(j);
        close(busy);
    }
    /* unknown routes and methods: tests/integration/toxiproxy_api_answers.c */
    snprintf(body, sizeof body,
             "[{\"name\":\"p1\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"},"
             "{\"name\":\"p2\",\"listen\":\"127.0.0.1:0\",\"upstrem\":\"127.0.0.1:%u\"}]",
             up, up);
    CHECK_EQ(call("POST", "/populate", body, "missing required field: upstream at proxy 2"), 400);
    CHECK_EQ(http("GET", "/proxies", NULL, &j), 200);
    CHECK_EQ(json_object_size(j), 1);
    CHECK_EQ(json_array_size(json_object_get(json_object_get(j, "db"), "toxics")), 0);
    json_decref(j);
    TEST_PASS("bad requests: Toxiproxy's error body, finwait's message, nothing changed "
              "(a /populate with one bad proxy creates none)");

    /* a finwait teardown fault through the same API: the client's FIN never reaches the
     * server (delay_fin forever), which still gets the data */
    CHECK_EQ(call("POST", "/proxies/db/toxics",
                  "{\"type\":\"delay_fin\",\"stream\":\"upstream\",\"attributes\":{\"delay\":"
                  "\"forever\"}}",
                  NULL),
             200);
    sk_pair(NULL, "127.0.0.1", db, lfd, &c1, &s1);
    CHECK_EQ(sk_write_all(c1, "req", 3, 1000), 0);
    sk_shut_wr(c1);
    CHECK_UINT(sk_read_n(s1, 3, 2000).bytes, ==, 3);
    CHECK(sk_silent(s1, 300)); /* no EOF */
    close(c1);
    close(s1);
    TEST_PASS("finwait's own faults through the API: delay_fin forever");

    CHECK_EQ(call("POST", "/proxies/db", "{\"enabled\":false}", NULL), 200);
    CHECK_STR(sk_end_name(sk_read_until_end(c0, 2000, false, 0).end), "EOF");
    close(c0);
    close(s0);
    c1 = sk_connect("127.0.0.1", db, 1000);
    CHECK_MSG(c1 < 0 && errno == ECONNREFUSED, "a disabled proxy accepted a connection");
    CHECK_EQ(call("POST", "/reset", NULL, NULL), 204);
    CHECK_EQ(http("GET", "/proxies/db", NULL, &j), 200);
    CHECK(json_is_true(json_object_get(j, "enabled")));
    CHECK_EQ(json_array_size(json_object_get(j, "toxics")), 0);
    db = port_of(json_string_value(json_object_get(j, "listen")));
    json_decref(j);
    sk_pair(NULL, "127.0.0.1", db, lfd, &c1, &s1);
    CHECK_INT(sk_round_trip(c1, s1), <, 250);
    TEST_PASS("disable cuts open connections and refuses new ones; /reset brings it back bare");

    CHECK_EQ(call("DELETE", "/proxies/db", NULL, NULL), 204);
    CHECK_STR(sk_end_name(sk_read_until_end(c1, 2000, false, 0).end), "EOF");
    close(c1);
    close(s1);
    CHECK_EQ(call("GET", "/proxies/db", NULL, "proxy not found"), 404);
    snprintf(body, sizeof body,
             "[{\"name\":\"a\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"},"
             "{\"name\":\"b\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}]",
             up, up);
    CHECK_EQ(http("POST", "/populate", body, &j), 201);
    CHECK_EQ(json_array_size(json_object_get(j, "proxies")), 2);
    json_decref(j);
    CHECK_EQ(http("GET", "/proxies", NULL, &j), 200);
    CHECK(json_object_get(j, "a") && json_object_get(j, "b"));
    json_decref(j);
    TEST_PASS("DELETE /proxies/NAME cuts its connections; /populate creates several");

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("exit 0 after SIGTERM with the API open");
    return 0;
}
