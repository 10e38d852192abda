/* Good configurations load with the values written and the documented defaults: every file
 * in examples/, a Toxiproxy config.json, and a file using each notation. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rules/config.h"

static struct config *load(const char *yaml)
{
    struct config *cfg = NULL;
    struct diag d;

    diag_init(&d);
    if (config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &d) != 0)
        diag_print(&d, stderr);
    diag_free(&d);
    CHECK(cfg != NULL);
    return cfg;
}

int main(void)
{
    char path[512];
    struct config *cfg;
    struct diag d;
    DIR *dir;
    struct dirent *e;
    int n = 0;

    /* `faults:` left empty, and the JSON null the admin API's copy makes of it: no faults
     * (the null made every API change of that proxy fail with 400) */
    {
        static const char *const empty[] = {"", " null", " ~"};
        for (int i = 0; i < 3; i++) {
            char yaml[256];
            snprintf(yaml, sizeof yaml,
                     "proxies:\n  - name: a\n    listen: 127.0.0.1:0\n    upstream: "
                     "127.0.0.1:1\n    faults:%s\n",
                     empty[i]);
            cfg = load(yaml);
            CHECK_EQ(cfg->proxies[0].nfaults, 0);
            config_free(cfg);
        }
        TEST_PASS("faults: empty, null or ~ is no fault");
    }

    /* the admin API on its own: proxies come from it later */
    cfg = load("admin: {listen: '127.0.0.1:0'}\n");
    CHECK_STR(cfg->admin_host, "127.0.0.1");
    CHECK_EQ(cfg->admin_port, 0);
    CHECK_EQ(cfg->nproxies, 0);
    config_free(cfg);
    cfg = load("admin: {listen: ':8474', insecure: true}\nproxies: []\n");
    CHECK_STR(cfg->admin_host, "");
    CHECK_EQ(cfg->admin_port, 8474);
    config_free(cfg);

    dir = opendir(FINWAIT_SOURCE_DIR "/examples");
    CHECK(dir != NULL);
    while ((e = readdir(dir))) {
        const char *dot = strrchr(e->d_name, '.');
        if (!dot || (strcmp(dot, ".yaml") != 0 && strcmp(dot, ".json") != 0))
            continue;
        snprintf(path, sizeof path, "%s/examples/%s", FINWAIT_SOURCE_DIR, e->d_name);
        diag_init(&d);
        if (config_load_file(path, &cfg, &d) != 0)
            diag_print(&d, stderr);
        CHECK_MSG(cfg != NULL, "%s does not load", path);
        config_free(cfg);
        diag_free(&d);
        n++;
    }
    closedir(dir);
    CHECK_INT(n, >=, 18);
    TEST_PASS("every example loads");

    cfg = load("[{\"name\": \"redis\", \"listen\": \"localhost:26379\", \"upstream\": "
               "\"localhost:6379\", \"enabled\": true},\n"
               " {\"name\": \"pg\", \"listen\": \"[::]:0\", \"upstream\": \"[::1]:5432\", "
               "\"enabled\": false}]\n");
    CHECK_UINT(cfg->nproxies, ==, 2);
    CHECK_STR(cfg->proxies[0].listen_host, "localhost");
    CHECK_UINT(cfg->proxies[0].listen_port, ==, 26379);
    CHECK_STR(cfg->proxies[1].listen_host, "::");
    CHECK_STR(cfg->proxies[1].upstream_host, "::1");
    CHECK(!cfg->proxies[1].enabled);
    CHECK_UINT(cfg->proxies[0].connect_timeout_ms, ==, 5000);
    CHECK_UINT(cfg->proxies[0].half_close_probe_ms, ==, 60000); /* Linux's tcp_fin_timeout */
    config_free(cfg);
    TEST_PASS("a Toxiproxy config.json loads unchanged");

    cfg = load("log: {format: json, level: debug, timeline: true}\n"
               "shutdown_timeout: 1m\nseed: 7\n"
               "proxies:\n"
               "  - name: a\n    listen: ':8080'\n    upstream: db:5432\n"
               "    connect_timeout: 250ms\n    idle_timeout: 90\n    half_close_probe: 0\n"
               "    faults:\n"
               "      - {type: delay_fin, delay: forever, direction: upstream}\n"
               "      - {type: slicer, average_size: 10, delay: 5, name: s, toxicity: 0.25}\n"
               "      - {type: reset, after_bytes: 100, to: server, match: {client: '::1/128'}}\n"
               "      - {type: drop_final_ack, leg: server, count: all}\n");
    CHECK_EQ(cfg->log_format, LOG_FORMAT_JSON);
    CHECK_EQ(cfg->log_level, LOG_LEVEL_DEBUG);
    CHECK(cfg->log_timeline);
    CHECK_UINT(cfg->shutdown_timeout_ms, ==, 60000);
    CHECK(cfg->has_seed && cfg->seed == 7);
    CHECK_STR(cfg->proxies[0].listen_host, "");
    CHECK_UINT(cfg->proxies[0].connect_timeout_ms, ==, 250);
    CHECK_UINT(cfg->proxies[0].idle_timeout_ms, ==, 90);
    CHECK_UINT(cfg->proxies[0].half_close_probe_ms, ==, 0);
    CHECK_UINT(cfg->proxies[0].nfaults, ==, 4);
    CHECK(cfg->proxies[0].faults[0].delay_ms == DURATION_FOREVER);
    CHECK_EQ(cfg->proxies[0].faults[0].direction, FAULT_DIR_UPSTREAM);
    CHECK_STR(cfg->proxies[0].faults[0].name, "delay_fin");
    CHECK_UINT(cfg->proxies[0].faults[1].delay_us, ==, 5); /* microseconds, as Toxiproxy */
    CHECK_EQ(cfg->proxies[0].faults[1].direction, FAULT_DIR_DOWNSTREAM);
    CHECK_DBL(cfg->proxies[0].faults[1].probability, ==, 0.25);
    CHECK_STR(cfg->proxies[0].faults[1].name, "s");
    CHECK(cfg->proxies[0].faults[2].has_after_bytes);
    CHECK_EQ(cfg->proxies[0].faults[2].to, FAULT_TO_SERVER);
    CHECK(cfg->proxies[0].faults[2].has_match);
    CHECK_EQ(cfg->proxies[0].faults[3].count, COUNT_ALL);
    CHECK(config_has_packet_faults(cfg));
    config_free(cfg);
    TEST_PASS("values, units and defaults");
    {
        /* what a reload compares: the same proxy written elsewhere in a file is the same */
        struct config *a = load("proxies:\n  - {name: a, listen: ':1', upstream: 'x:2',\n"
                                "     faults: [{type: latency, latency: 10}]}\n");
        struct config *b = load("seed: 3\nproxies:\n  - name: a\n    listen: ':1'\n"
                                "    upstream: 'x:2'\n    faults:\n      - {type: latency, "
                                "latency: 10ms}\n");
        struct config *c = load("proxies:\n  - {name: a, listen: ':1', upstream: 'x:2',\n"
                                "     faults: [{type: latency, latency: 11}]}\n");
        CHECK(proxy_cfg_same(&a->proxies[0], &b->proxies[0]));
        CHECK(!proxy_cfg_same(&a->proxies[0], &c->proxies[0]));
        config_free(a);
        config_free(b);
        config_free(c);
    }
    TEST_PASS("a proxy compares the same wherever it is written, not with another latency");
    return 0;
}
