/* GET /metrics as Prometheus' Go client writes it for Toxiproxy: every series' label names in
 * sorted order (Toxiproxy's end-to-end script greps the exact line), and with -runtime-metrics
 * the process collector's series, read from the process itself; never a go_* series. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "prom.h"
#include "sock.h"

/* The value of the sample line starting with `name ` in the exposition, or -1. */
static double value_of(const char *text, const char *name)
{
    size_t n = strlen(name);

    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    return -1;
}

/* True if every sample line's label names are in sorted order. */
static bool labels_sorted(const char *text, char *bad, size_t len)
{
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *brace = strchr(l, '{'), *eol = strchr(l, '\n');
        char prev[64] = "", name[64];
        if (*l == '#' || !brace || (eol && brace > eol))
            continue;
        for (const char *p = brace + 1; *p && *p != '}';) {
            size_t k = strcspn(p, "=");
            snprintf(name, sizeof name, "%.*s", (int)k, p);
            if (strcmp(prev, name) >= 0) {
                snprintf(bad, len, "%.*s", (int)(eol ? eol - l : (long)strlen(l)), l);
                return false;
            }
            snprintf(prev, sizeof prev, "%s", name);
            p += k + 2; /* past =" */
            while (*p && !(*p == '"' && p[-1] != '\\'))
                p++;
            p += *p == '"';
            p += *p == ',';
        }
    }
    return true;
}

static char *scrape(uint16_t api)
{
    struct http_resp r;
    char *body;

    CHECK_EQ(http_req(api, "GET", "/metrics", NULL, NULL, &r), 200);
    CHECK(prom_parses(r.body));
    body = strdup(r.body);
    http_resp_free(&r);
    return body;
}

int main(void)
{
    uint16_t up = 0, api;
    int lfd = sk_listen("127.0.0.1", &up), c, s, fds_before;
    char body[300], line[400], bad[400], *text;
    struct fwp *fw;
    json_t *j = NULL;
    const char *listen;
    double v;

    fw = fwp_start_argv(NULL,
                        (const char *[]){"-host=127.0.0.1", "-port=0", "-runtime-metrics", NULL},
                        "admin API");
    api = fwp_admin_port(fw);
    snprintf(body, sizeof body,
             "{\"name\":\"web\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", up);
    CHECK_EQ(http_json(api, "POST", "/proxies", body, &j), 201);
    listen = json_string_value(json_object_get(j, "listen"));
    sk_pair(NULL, "127.0.0.1", http_listen_port(listen), lfd, &c, &s);
    CHECK_EQ(sk_write_all(c, "0123456789", 10, 1000), 0);
    CHECK_UINT(sk_read_n(s, 10, 2000).bytes, ==, 10);
    close(c);
    close(s);

    /* the relayed connection may still be closing (its sockets, the dup watching its
     * half-closed leg): the bound is what finwait held just before the scrape */
    fds_before = fwp_fd_count(fw);
    text = scrape(api);
    snprintf(line, sizeof line,
             "\ntoxiproxy_proxy_sent_bytes_total{direction=\"upstream\",listener=\"%s\",proxy="
             "\"web\",upstream=\"127.0.0.1:%u\"} 10\n",
             listen, up);
    CHECK_CONTAINS(text, line);
    CHECK_CONTAINS(text,
                   "\nfinwait_relayed_bytes_total{direction=\"upstream\",proxy=\"web\"} 10\n");
    CHECK_MSG(labels_sorted(text, bad, sizeof bad), "labels out of order: %s", bad);
    TEST_PASS("every series lists its label names sorted; Toxiproxy's line is the one its "
              "script greps");

    CHECK(!strstr(text, "\ngo_") && strncmp(text, "go_", 3) != 0);
    v = value_of(text, "process_open_fds");
    CHECK_DBL(v, >=, 3);
    CHECK_DBL(v, <=, fds_before + 2); /* the scrape's own connection comes and goes */
    v = value_of(text, "process_resident_memory_bytes");
    CHECK_DBL(v, >, fwp_rss_kib(fw) * 1024.0 / 2);
    CHECK_DBL(v, <, fwp_rss_kib(fw) * 1024.0 * 2);
    v = value_of(text, "process_start_time_seconds");
    CHECK_DBL(v, >, (double)time(NULL) - 120);
    CHECK_DBL(v, <=, (double)time(NULL) + 1);
    CHECK_DBL(value_of(text, "process_cpu_seconds_total"), >=, 0);
    CHECK_DBL(value_of(text, "process_max_fds"), >, 0);
    CHECK_DBL(value_of(text, "process_virtual_memory_bytes"), >,
              value_of(text, "process_resident_memory_bytes"));
    CHECK_CONTAINS(text, "# TYPE process_cpu_seconds_total counter\n");
    free(text);
    json_decref(j);
    TEST_PASS("-runtime-metrics: the process collector's series with this process's values, no "
              "go_* series");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);

    fw = fwp_start_argv(NULL, (const char *[]){"-host=127.0.0.1", "-port=0", NULL}, "admin API");
    text = scrape(fwp_admin_port(fw));
    /* process_max_fds alone: finwait's capacity is its descriptor limit (README "Resource
     * limits"), shown with or without the process collector */
    CHECK_DBL(value_of(text, "process_max_fds"), >, 0);
    for (const char *p = strstr(text, "process_"); p; p = strstr(p + 1, "process_"))
        CHECK_MSG(strncmp(p, "process_max_fds", 15) == 0, "unexpected series: %.40s", p);
    free(text);
    TEST_PASS("without -runtime-metrics: no process_* series but process_max_fds");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    close(lfd);
    return 0;
}
