/* A refused upstream, as Toxiproxy's tests see it: a proxy made through Toxiproxy's API (or
 * listed in its config.json) accepts the client and ends it with a FIN, so dialling it always
 * succeeds ("the proxy is up"); finwait's own YAML proxies keep the RST; `on_upstream_failure`
 * chooses either way, per proxy, in the file and through the API. */
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

/* Dial the proxy `rounds` times as Toxiproxy's AssertProxyUp does, then read: how many dials
 * failed, and how the last read ended (SK_EOF or SK_RESET). A reset that overtakes connect()
 * counts as a failed dial. */
static enum sk_end dial(uint16_t port, int rounds, int *failed)
{
    enum sk_end end = 0;

    *failed = 0;
    for (int i = 0; i < rounds; i++) {
        int c = sk_connect("127.0.0.1", port, 2000);
        if (c < 0) {
            CHECK_MSG(errno == ECONNRESET, "connect: %s", strerror(errno));
            ++*failed;
            end = SK_RESET;
            continue;
        }
        end = sk_read_until_end(c, 5000, false, 0).end;
        close(c);
    }
    return end;
}

static uint16_t create(uint16_t api, const char *name, uint16_t upstream, const char *extra)
{
    char body[300];
    json_t *j = NULL;
    uint16_t port;

    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"%s}", name,
             upstream, extra);
    CHECK_EQ(http_json(api, "POST", "/proxies", body, &j), 201);
    port = http_listen_port(json_string_value(json_object_get(j, "listen")));
    json_decref(j);
    return port;
}

int main(void)
{
    uint16_t closed = 0, api;
    int probe = sk_listen("127.0.0.1", &closed), failed;
    struct fwp *fw;
    char json[300], *out = NULL;
    const char *file;

    /* bound, not listening: connecting is refused, and nobody else gets the port meanwhile */
    close(probe);
    probe = socket(AF_INET, SOCK_STREAM, 0);
    {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(closed)};
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK_MSG(bind(probe, (struct sockaddr *)&sin, sizeof sin) == 0, "rebind %u", closed);
    }

    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - {name: yaml, listen: '127.0.0.1:0', upstream: '127.0.0.1:%u'}\n"
                   "  - {name: yaml_fin, listen: '127.0.0.1:0', upstream: '127.0.0.1:%u',\n"
                   "     on_upstream_failure: close}\n",
                   closed, closed);
    api = http_admin_port(fw);

    CHECK_EQ(dial(create(api, "api", closed, ""), 50, &failed), SK_EOF);
    CHECK_EQ(failed, 0);
    TEST_PASS("a proxy made through the API: 50 dials of a refused upstream all connect, each "
              "ends with a FIN");

    CHECK_EQ(dial(fwp_port(fw, "yaml"), 1, &failed), SK_RESET);
    CHECK_EQ(dial(create(api, "api_rst", closed, ",\"on_upstream_failure\":\"reset\""), 1, &failed),
             SK_RESET);
    CHECK_EQ(dial(fwp_port(fw, "yaml_fin"), 5, &failed), SK_EOF);
    CHECK_EQ(failed, 0);
    TEST_PASS("a YAML proxy resets the client; on_upstream_failure chooses the other way, in "
              "the file and through the API");

    CHECK_EQ(http_json(api, "PATCH", "/proxies/api", "{\"on_upstream_failure\":\"reset\"}", NULL),
             200);
    CHECK_EQ(dial(fwp_port(fw, "api"), 1, &failed), SK_RESET);
    CHECK_EQ(
        http_json(api, "PATCH", "/proxies/api", "{\"on_upstream_failure\":\"sideways\"}", NULL),
        400);
    TEST_PASS("changed on a running proxy; a bad value is a 400");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);

    /* Toxiproxy's config.json: its proxies are Toxiproxy's */
    snprintf(json, sizeof json,
             "[{\"name\": \"tp\", \"listen\": \"127.0.0.1:0\", \"upstream\": \"127.0.0.1:%u\"}]",
             closed);
    file = fwp_tmpfile(0, "toxiproxy.json", json);
    fw = fwp_start_argv(NULL, (const char *[]){"-host=127.0.0.1", "-port=0", "-config", file, NULL},
                        "admin API");
    CHECK_EQ(dial(fwp_port(fw, "tp"), 5, &failed), SK_EOF);
    CHECK_EQ(failed, 0);
    /* and so after an API change, which reloads it in finwait's schema */
    CHECK_EQ(
        http_json(fwp_admin_port(fw), "POST", "/proxies/tp/toxics", "{\"type\":\"noop\"}", NULL),
        200);
    CHECK_EQ(dial(fwp_port(fw, "tp"), 5, &failed), SK_EOF);
    CHECK_EQ(failed, 0);
    TEST_PASS("a proxy of a Toxiproxy config.json ends the client with a FIN, also after an API "
              "change");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);

    CHECK_EQ(fwp_run((const char *[]){"--check", "-c",
                                      fwp_tmpfile(1, "bad.yaml",
                                                  "proxies:\n  - {name: a, listen: ':0', upstream: "
                                                  "'x:1', on_upstream_failure: fin}\n"),
                                      NULL},
                     &out, 5000),
             2);
    CHECK_CONTAINS(out, "invalid on_upstream_failure 'fin' (expected reset or close)");
    free(out);
    TEST_PASS("a bad on_upstream_failure in a file: the loader says where and what");
    close(probe);
    return 0;
}
