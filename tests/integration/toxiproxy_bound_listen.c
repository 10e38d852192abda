/* A proxy's `listen` is the address it bound, as Toxiproxy's is, from its first start on:
 * made on `localhost:0` (as Shopify's Ruby client makes every proxy) or `localhost:PORT`, it
 * shows `127.0.0.1:PORT` while enabled and still when disabled, and a populate with that
 * address leaves it as it is (disabled, toxics kept). A proxy never started shows what was
 * written. Runs in namespaces of its own, where localhost is 127.0.0.1 only. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "names.h"
#include "proc.h"
#include "sock.h"

static uint16_t api;

static void listen_is(json_t *proxy, const char *want)
{
    CHECK_STR(json_string_value(json_object_get(proxy, "listen")), want);
}

/* GET /proxies/name: its listen is `want`. */
static void shown(const char *name, const char *want)
{
    char path[128];
    json_t *j = NULL;

    snprintf(path, sizeof path, "/proxies/%s", name);
    CHECK_EQ(http_json(api, "GET", path, NULL, &j), 200);
    listen_is(j, want);
    json_decref(j);
}

/* PATCH /proxies/name {"enabled": on}: 200, and the answer's listen is `want`. */
static void set_enabled(const char *name, bool on, const char *want)
{
    char path[128];
    json_t *j = NULL;

    snprintf(path, sizeof path, "/proxies/%s", name);
    CHECK_EQ(http_json(api, "PATCH", path, on ? "{\"enabled\":true}" : "{\"enabled\":false}", &j),
             200);
    listen_is(j, want);
    CHECK(json_is_boolean(json_object_get(j, "enabled")) &&
          json_boolean_value(json_object_get(j, "enabled")) == on);
    json_decref(j);
    shown(name, want);
}

/* A port nothing listens on in this namespace. */
static uint16_t free_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
    close(fd);
    return ntohs(sin.sin_port);
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd;
    char body[512], want[64];
    struct fwp *fw;
    json_t *j = NULL, *p;

    names_enter("127.0.0.1 localhost\n", NULL);
    lfd = sk_listen("127.0.0.1", &up);
    fw = fwp_start_argv(NULL, (const char *[]){"-host=127.0.0.1", "-port=0", NULL}, "admin API");
    api = fwp_admin_port(fw);

    /* the Ruby client's create: listen localhost:0, enabled null */
    snprintf(body, sizeof body,
             "{\"name\":\"rb\",\"listen\":\"localhost:0\",\"upstream\":\"127.0.0.1:%u\","
             "\"enabled\":null}",
             up);
    CHECK_EQ(http_json(api, "POST", "/proxies", body, &j), 201);
    port = http_listen_port(json_string_value(json_object_get(j, "listen")));
    CHECK(port != 0);
    snprintf(want, sizeof want, "127.0.0.1:%u", port);
    listen_is(j, want);
    json_decref(j);
    set_enabled("rb", false, want);
    CHECK_MSG(sk_connect("127.0.0.1", port, 1000) < 0 && errno == ECONNREFUSED,
              "a disabled proxy still accepts");
    set_enabled("rb", true, want);
    sk_relays(lfd, "127.0.0.1", port);
    TEST_PASS("made on localhost:0: listen is 127.0.0.1:PORT, enabled and disabled");

    /* disabled, with a toxic: a populate with the address shown changes nothing */
    set_enabled("rb", false, want);
    CHECK_EQ(http_json(api, "POST", "/proxies/rb/toxics", "{\"type\":\"noop\"}", NULL), 200);
    snprintf(body, sizeof body,
             "[{\"name\":\"rb\",\"listen\":\"%s\",\"upstream\":\"127.0.0.1:%u\"}]", want, up);
    CHECK_EQ(http_json(api, "POST", "/populate", body, &j), 201);
    p = json_array_get(json_object_get(j, "proxies"), 0);
    listen_is(p, want);
    CHECK(json_is_false(json_object_get(p, "enabled")));
    CHECK_EQ(json_array_size(json_object_get(p, "toxics")), 1);
    json_decref(j);
    set_enabled("rb", true, want);
    sk_relays(lfd, "127.0.0.1", port);
    TEST_PASS("a populate with the bound address leaves the disabled proxy as it is");

    /* a port given with a host name: the same */
    port = free_port();
    snprintf(want, sizeof want, "127.0.0.1:%u", port);
    snprintf(body, sizeof body,
             "{\"name\":\"named\",\"listen\":\"localhost:%u\",\"upstream\":\"127.0.0.1:%u\"}", port,
             up);
    CHECK_EQ(http_json(api, "POST", "/proxies", body, &j), 201);
    listen_is(j, want);
    json_decref(j);
    set_enabled("named", false, want);
    set_enabled("named", true, want);
    sk_relays(lfd, "127.0.0.1", port);
    TEST_PASS("made on localhost:PORT: listen is 127.0.0.1:PORT, enabled and disabled");

    /* never started: what was written, as Toxiproxy shows it */
    snprintf(body, sizeof body,
             "{\"name\":\"off\",\"listen\":\"localhost:0\",\"upstream\":\"127.0.0.1:%u\","
             "\"enabled\":false}",
             up);
    CHECK_EQ(http_json(api, "POST", "/proxies", body, &j), 201);
    listen_is(j, "localhost:0");
    json_decref(j);
    shown("off", "localhost:0");
    TEST_PASS("made disabled: listen as written (localhost:0)");

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
