/* A proxy created on port 0 keeps the port it was given, as Toxiproxy's: across a disable and
 * enable (POST and PATCH), POST /reset, a populate with the values it shows, and toxiproxy-cli's
 * toggle; `listen` shows that port while it is disabled. Clients keep the first address. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

static uint16_t api;

/* `listen` of proxy `name` now. */
static char *listen_of(const char *name)
{
    char path[128];
    json_t *j = NULL;
    char *l;

    snprintf(path, sizeof path, "/proxies/%s", name);
    CHECK_EQ(http_json(api, "GET", path, NULL, &j), 200);
    l = strdup(json_string_value(json_object_get(j, "listen")));
    json_decref(j);
    return l;
}

static void listen_is(const char *name, const char *want)
{
    char *l = listen_of(name);

    CHECK_STR(l, want);
    free(l);
}

static void refused(uint16_t port)
{
    int c = sk_connect("127.0.0.1", port, 1000);

    CHECK_MSG(c < 0 && errno == ECONNREFUSED, "a disabled proxy still accepts");
}

static void toggle(const char *url, const char *want)
{
    char *out = NULL;

    CHECK_EQ(fwp_run((const char *[]){"cli", "-h", url, "toggle", "db", NULL}, &out, 10000), 0);
    CHECK_STR(out, want);
    free(out);
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up);
    char body[512], bound[64], url[64], *l;
    struct fwp *fw;
    json_t *j = NULL;

    fw = fwp_start_argv(NULL, (const char *[]){"-host=127.0.0.1", "-port=0", NULL}, "admin API");
    api = fwp_admin_port(fw);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", api);

    snprintf(body, sizeof body,
             "{\"name\":\"db\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(http_json(api, "POST", "/proxies", body, &j), 201);
    snprintf(bound, sizeof bound, "%s", json_string_value(json_object_get(j, "listen")));
    json_decref(j);
    port = http_listen_port(bound);
    CHECK(port != 0);
    sk_relays(lfd, "127.0.0.1", port);

    CHECK_EQ(http_json(api, "POST", "/proxies/db", "{\"enabled\":false}", NULL), 200);
    listen_is("db", bound);
    refused(port);
    CHECK_EQ(http_json(api, "POST", "/proxies/db", "{\"enabled\":true}", NULL), 200);
    listen_is("db", bound);
    sk_relays(lfd, "127.0.0.1", port);
    CHECK_EQ(http_json(api, "PATCH", "/proxies/db", "{\"enabled\":false}", NULL), 200);
    listen_is("db", bound);
    CHECK_EQ(http_json(api, "PATCH", "/proxies/db", "{\"enabled\":true}", NULL), 200);
    listen_is("db", bound);
    sk_relays(lfd, "127.0.0.1", port);
    TEST_PASS("disabled and enabled (POST, PATCH): the port it was given, shown while disabled");

    CHECK_EQ(http_json(api, "PATCH", "/proxies/db", "{\"enabled\":false}", NULL), 200);
    CHECK_EQ(http_json(api, "POST", "/reset", NULL, NULL), 204);
    listen_is("db", bound);
    sk_relays(lfd, "127.0.0.1", port);
    TEST_PASS("POST /reset enables it on the same port");

    /* a populate with the values it shows leaves it as it is, toxics and all */
    CHECK_EQ(http_json(api, "POST", "/proxies/db/toxics", "{\"type\":\"noop\"}", NULL), 200);
    snprintf(body, sizeof body,
             "[{\"name\":\"db\",\"listen\":\"%s\",\"upstream\":\"127.0.0.1:%u\"}]", bound, up);
    CHECK_EQ(http_json(api, "POST", "/populate", body, &j), 201);
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(json_object_get(j, "proxies"), 0), "listen")),
              bound);
    CHECK_EQ(json_array_size(
                 json_object_get(json_array_get(json_object_get(j, "proxies"), 0), "toxics")),
             1);
    json_decref(j);
    sk_relays(lfd, "127.0.0.1", port);
    TEST_PASS("populate with the same values: the same proxy, port and toxics");

    toggle(url, "Proxy db is now disabled\n");
    listen_is("db", bound);
    refused(port);
    toggle(url, "Proxy db is now enabled\n");
    listen_is("db", bound);
    sk_relays(lfd, "127.0.0.1", port);
    TEST_PASS("toxiproxy-cli toggle twice: the same port");

    /* made without listen: the same */
    snprintf(body, sizeof body, "{\"name\":\"nl\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(http_json(api, "POST", "/proxies", body, NULL), 201);
    l = listen_of("nl");
    CHECK_EQ(http_json(api, "PATCH", "/proxies/nl", "{\"enabled\":false}", NULL), 200);
    listen_is("nl", l);
    CHECK_EQ(http_json(api, "PATCH", "/proxies/nl", "{\"enabled\":true}", NULL), 200);
    listen_is("nl", l);
    sk_relays(lfd, "127.0.0.1", http_listen_port(l));
    free(l);
    TEST_PASS("a proxy made without listen keeps its port the same way");

    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
