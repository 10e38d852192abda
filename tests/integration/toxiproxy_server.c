/* Toxiproxy's server flags, as Testcontainers and Toxiproxy's image pass them: -host/-port serve
 * the admin API with no file, -config loads a Toxiproxy config.json, -version prints the
 * version; the same under the name toxiproxy-server. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "pair.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0, api, port;
    int lfd = sk_listen("127.0.0.1", &up);
    char *out = NULL, json[512], dir[64] = "/tmp/fwtest.XXXXXX", link[128];
    const char *file;
    struct fwp *fw;
    json_t *j = NULL;

    CHECK_EQ(fwp_run((const char *[]){"-version", NULL}, &out, 5000), 0);
    CHECK_CONTAINS(out, "finwait " FINWAIT_VERSION);
    free(out);
    CHECK_EQ(fwp_run((const char *[]){"-port=http", NULL}, &out, 5000), 2);
    CHECK_CONTAINS(out, "-port 'http': expected a port number");
    free(out);
    TEST_PASS("-version prints the version; a bad -port is exit 2 with its reason");

    /* no file: an API-driven server, as toxiproxy-server starts */
    fw = fwp_start_argv(NULL, (const char *[]){"-host=127.0.0.1", "-port=0", NULL}, "admin API");
    api = fwp_admin_port(fw);
    CHECK(api != 0);
    CHECK_EQ(http_json(api, "GET", "/version", NULL, NULL), 200);
    snprintf(json, sizeof json,
             "{\"name\": \"web\", \"listen\": \"127.0.0.1:0\", \"upstream\": \"127.0.0.1:%u\"}",
             up);
    CHECK_EQ(http_json(api, "POST", "/proxies", json, &j), 201);
    port = http_listen_port(json_string_value(json_object_get(j, "listen")));
    json_decref(j);
    sk_relays(lfd, "127.0.0.1", port);
    /* what Toxiproxy's Go client (and so toxiproxy-cli 2.x) sends for a toxic without -n */
    CHECK_EQ(http_json(api, "POST", "/proxies/web/toxics",
                       "{\"name\": \"\", \"type\": \"latency\", \"stream\": \"upstream\", "
                       "\"toxicity\": 1, \"attributes\": {\"latency\": 5}}",
                       &j),
             200);
    CHECK_STR(json_string_value(json_object_get(j, "name")), "latency_upstream");
    json_decref(j);
    CHECK_EQ(http_json(api, "DELETE", "/proxies/web", NULL, NULL), 204);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("-host=H -port=P with no file: the admin API serves, its proxies relay; an empty "
              "toxic name is Toxiproxy's TYPE_STREAM");

    /* Toxiproxy's config.json, flags in the `-flag value` form */
    snprintf(json, sizeof json,
             "[\n"
             "  {\"name\": \"redis\", \"listen\": \"127.0.0.1:0\", \"upstream\": \"127.0.0.1:%u\", "
             "\"enabled\": true},\n"
             "  {\"name\": \"off\", \"listen\": \"127.0.0.1:0\", \"upstream\": \"127.0.0.1:%u\", "
             "\"enabled\": false}\n"
             "]\n",
             up, up);
    file = fwp_tmpfile(0, "tc-toxiproxy.json", json);
    fw = fwp_start_argv(NULL,
                        (const char *[]){"-host", "127.0.0.1", "-port", "0", "-config", file,
                                         "-seed", "42", "-proxy-metrics", "-runtime-metrics", NULL},
                        "admin API");
    api = fwp_admin_port(fw);
    sk_relays(lfd, "127.0.0.1", fwp_port(fw, "redis"));
    CHECK_EQ(http_json(api, "GET", "/proxies", NULL, &j), 200);
    CHECK(json_is_true(json_object_get(json_object_get(j, "redis"), "enabled")));
    CHECK(json_is_false(json_object_get(json_object_get(j, "off"), "enabled")));
    json_decref(j);
    /* every proxy gone: still valid, the admin API comes from the command line */
    CHECK_EQ(http_json(api, "DELETE", "/proxies/redis", NULL, NULL), 204);
    CHECK_EQ(http_json(api, "DELETE", "/proxies/off", NULL, NULL), 204);
    CHECK_EQ(http_json(api, "GET", "/proxies", NULL, &j), 200);
    CHECK_EQ(json_object_size(j), 0);
    json_decref(j);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("-config FILE (Toxiproxy's JSON) -seed N -proxy-metrics: its proxies are served");

    /* under the name toxiproxy-server, an empty config.json, and LOG_LEVEL as Toxiproxy's */
    CHECK(mkdtemp(dir) != NULL);
    snprintf(link, sizeof link, "%s/toxiproxy-server", dir);
    CHECK(symlink(FINWAIT_BIN, link) == 0);
    CHECK_EQ(fwp_run_bin(link, (const char *[]){"-version", NULL}, &out, 5000), 0);
    CHECK_CONTAINS(out, "toxiproxy-server version " FINWAIT_VERSION);
    free(out);
    file = fwp_tmpfile(1, "empty.json", "[]\n");
    setenv("LOG_LEVEL", "chatty", 1);
    fw = fwp_start_argv(link, (const char *[]){"-host=127.0.0.1", "-port=0", "-config", file, NULL},
                        "admin API");
    unsetenv("LOG_LEVEL");
    api = fwp_admin_port(fw);
    CHECK(fwp_wait_log(fw, "unknown LOG_LEVEL value: \"chatty\"", 1000));
    CHECK_EQ(http_json(api, "GET", "/version", NULL, NULL), 200);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    unlink(link);
    rmdir(dir);
    TEST_PASS("named toxiproxy-server: -version says so; an empty config.json serves the API");
    close(lfd);
    return 0;
}
