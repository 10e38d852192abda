/* The admin API cannot be driven from a web page: a browser's User-Agent gets Toxiproxy's 403,
 * a Host that is neither an IP literal, localhost nor a name of admin.hosts (DNS rebinding)
 * gets 403, and with admin.token every request needs `Authorization: Bearer TOKEN`. Beyond
 * loopback, the API needs a token or `insecure: true`. Every answer has an
 * X-Toxiproxy-Request-Id. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define TOKEN "0123456789abcdef-token"

static int status_of(uint16_t port, const char *method, const char *path, const char *headers,
                     const char *body)
{
    struct http_resp r;
    int st = http_req(port, method, path, headers, body, &r);

    CHECK_MSG(http_header(&r, "X-Toxiproxy-Request-Id") != NULL, "no request id: %s", r.head);
    http_resp_free(&r);
    return st;
}

static void check_config(const char *yaml, int want_exit, const char *want)
{
    const char *path = fwp_tmpfile(0, "admin.yaml", yaml);
    char *out;

    CHECK_EQ(fwp_run((const char *[]){"--check", "-c", path, NULL}, &out, 5000), want_exit);
    CHECK_CONTAINS(out, want);
    free(out);
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0', hosts: [finwait.test]}\n"
                               "proxies: []\n");
    char body[256], hdr[512];
    struct http_resp r;

    port = http_admin_port(fw);
    snprintf(body, sizeof body,
             "{\"name\":\"evil\",\"listen\":\"0.0.0.0:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    snprintf(hdr, sizeof hdr,
             "Host: evil.example:%u\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
             "Origin: http://evil.example\r\nContent-Type: text/plain\r\n",
             port);
    CHECK_EQ(http_req(port, "POST", "/proxies", hdr, body, &r), 403);
    CHECK_STR(r.body, "User agent not allowed\n");
    CHECK_CONTAINS(http_header(&r, "Content-Type"), "text/plain");
    CHECK(http_header(&r, "X-Toxiproxy-Request-Id") != NULL);
    http_resp_free(&r);
    snprintf(hdr, sizeof hdr, "Host: 127.0.0.1:%u\r\nUser-Agent: Mozilla/5.0\r\n", port);
    CHECK_EQ(status_of(port, "GET", "/version", hdr, NULL), 403);
    TEST_PASS("a browser's User-Agent: 403 User agent not allowed (text/plain)");

    snprintf(hdr, sizeof hdr, "Host: evil.example:%u\r\nUser-Agent: curl/8\r\n", port);
    CHECK_EQ(http_req(port, "POST", "/proxies", hdr, body, &r), 403);
    CHECK_CONTAINS(json_string_value(json_object_get(r.json, "error")), "Host 'evil.example:");
    http_resp_free(&r);
    CHECK_EQ(status_of(port, "GET", "/proxies", "Host: evil.example\r\n", NULL), 403);
    CHECK_EQ(status_of(port, "GET", "/proxies", "Host: 127.0.0.1.evil.example\r\n", NULL), 403);
    CHECK_EQ(status_of(port, "GET", "/proxies", "Host: localhost.evil.example:80\r\n", NULL), 403);
    CHECK_EQ(status_of(port, "GET", "/proxies", "Host: localhost\r\n", NULL), 200);
    CHECK_EQ(status_of(port, "GET", "/proxies", "Host: LocalHost:8474\r\n", NULL), 200);
    CHECK_EQ(status_of(port, "GET", "/proxies", "Host: 127.0.0.1:8474\r\n", NULL), 200);
    CHECK_EQ(status_of(port, "GET", "/proxies", "Host: [::1]:8474\r\n", NULL), 200);
    CHECK_EQ(status_of(port, "GET", "/proxies", "Host: finwait.test:8474\r\n", NULL), 200);
    CHECK_EQ(status_of(port, "GET", "/nothing", "Host: finwait.test\r\n", NULL), 404);
    CHECK_EQ(http_req(port, "GET", "/proxies", NULL, NULL, &r), 200);
    CHECK_EQ(json_object_size(r.json), 0); /* nothing was created */
    http_resp_free(&r);
    TEST_PASS("Host: IP literals, localhost and admin.hosts only (403 otherwise)");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);

    fw = fwp_start("admin: {listen: '127.0.0.1:0', insecure: true}\nproxies: []\n");
    port = http_admin_port(fw);
    CHECK_EQ(status_of(port, "GET", "/proxies", "Host: finwait:8474\r\n", NULL), 200);
    CHECK_EQ(status_of(port, "GET", "/proxies", "Host: toxiproxy\r\n", NULL), 200);
    CHECK_EQ(
        status_of(port, "GET", "/version", "Host: finwait\r\nUser-Agent: Mozilla/5.0\r\n", NULL),
        403);
    TEST_PASS("insecure: true: any Host (a compose service's name), still no browser");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);

    fw = fwp_start("admin: {listen: '127.0.0.1:0', token: '" TOKEN "'}\nproxies: []\n");
    port = http_admin_port(fw);
    CHECK_EQ(http_req(port, "GET", "/version", NULL, NULL, &r), 401);
    CHECK_STR(http_header(&r, "WWW-Authenticate"), "Bearer");
    CHECK_CONTAINS(json_string_value(json_object_get(r.json, "error")), "token");
    http_resp_free(&r);
    CHECK_EQ(status_of(port, "GET", "/version",
                       "Host: 127.0.0.1\r\nAuthorization: Bearer 0123456789abcdef-tokeX\r\n", NULL),
             401);
    CHECK_EQ(status_of(port, "GET", "/version",
                       "Host: 127.0.0.1\r\nAuthorization: Bearer " TOKEN "x\r\n", NULL),
             401);
    CHECK_EQ(
        status_of(port, "GET", "/version", "Host: 127.0.0.1\r\nAuthorization: Bearer\r\n", NULL),
        401);
    CHECK_EQ(status_of(port, "POST", "/proxies", "Host: 127.0.0.1\r\n", body), 401);
    CHECK_EQ(status_of(port, "GET", "/version",
                       "Host: 127.0.0.1\r\nAuthorization: Bearer " TOKEN "\r\n", NULL),
             200);
    CHECK_EQ(status_of(port, "GET", "/proxies",
                       "Host: 127.0.0.1\r\nAuthorization: bearer " TOKEN "\r\n", NULL),
             200);
    TEST_PASS("admin.token: 401 without the right bearer token, 200 with it");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);

    check_config("admin: {listen: ':8474'}\n", 2,
                 "admin.yaml:1:17: error: admin API on a non-loopback address needs 'token'");
    check_config("admin:\n  listen: 0.0.0.0:8474\n", 2,
                 "admin.yaml:2:11: error: admin API on a non-loopback address needs 'token'");
    check_config("admin: {listen: '[::]:8474', insecure: true}\n", 0, "ok");
    check_config("admin: {listen: '0.0.0.0:8474', token: '" TOKEN "'}\n", 0, "ok");
    check_config("admin: {listen: '[::1]:8474'}\n", 0, "ok");
    check_config("admin: {listen: '127.0.0.2:8474'}\n", 0, "ok");
    check_config("admin: {listen: '127.0.0.1:8474', token: short}\n", 2,
                 "admin.yaml:1:42: error: admin token too short: at least 16 characters");
    check_config("admin: {listen: '127.0.0.1:8474', hosts: 'a.test'}\n", 2,
                 "admin.yaml:1:42: error: expected a list of host names, got a value");
    check_config("admin: {listen: '127.0.0.1:8474', hosts: ['a.test:80']}\n", 2,
                 "error: invalid host name 'a.test:80'");
    check_config("admin: {listen: '127.0.0.1:8474', insecure: maybe}\n", 2,
                 "admin.yaml:1:45: error: expected true or false, got 'maybe'");
    check_config("admin: {listen: '127.0.0.1:8474', max_connections: 0}\n", 2,
                 "error: max_connections must be 1..1024");
    check_config("admin: {listen: '127.0.0.1:8474', request_timeout: 1ms}\n", 2,
                 "error: request_timeout must be 100ms..1h");
    TEST_PASS("beyond loopback, a token or insecure: true; bad admin keys say where and what");

    close(lfd);
    return 0;
}
