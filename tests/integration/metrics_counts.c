/* GET /metrics parses with Prometheus' own parser, and its counters equal what the peers did:
 * connections, bytes each way, FINs, RSTs (a peer resetting), a fault fired K times, an
 * upstream that refused; Toxiproxy's byte counters move while a connection is still open;
 * reloads and admin answers are counted; a kept proxy keeps its counters through a reload, a
 * removed one's series go. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "prom.h"
#include "sock.h"

static char cfg_path[200];
static unsigned ok200; /* 200 answers of the admin API so far (the scrapes), as it counts them */

static json_t *scrape(uint16_t admin)
{
    json_t *m = prom_scrape(admin);

    ok200++;
    return m;
}

static double get(json_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static double get(json_t *m, const char *fmt, ...)
{
    char key[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    return prom_get(m, key);
}

/* Scrape until series `key` (of proxy m) reads `want`, for up to 5 s; returns the last scrape. */
static json_t *scrape_until(uint16_t admin, const char *key, double want)
{
    int64_t end = now_ms() + 5000;

    for (;;) {
        json_t *m = scrape(admin);
        if (prom_get(m, key) == want)
            return m;
        CHECK_MSG(now_ms() < end, "%s stays %g, want %g", key, prom_get(m, key), want);
        json_decref(m);
        poll(NULL, 0, 20);
    }
}

static void write_config(const char *text)
{
    char tmp[220];
    FILE *f;

    snprintf(tmp, sizeof tmp, "%s.new", cfg_path);
    f = fopen(tmp, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
    CHECK(rename(tmp, cfg_path) == 0); /* finwait never reads half a file */
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Replace the file, SIGHUP, and wait (5 s) for the outcome; true if it reloaded. */
static bool reload(struct fwp *fw, const char *text)
{
    char *log = fwp_log(fw);
    int ok0 = count(log, "reloaded "), failed0 = count(log, "reload failed");
    int64_t end = now_ms() + 5000;

    free(log);
    write_config(text);
    CHECK(kill(fw->pid, SIGHUP) == 0);
    for (;;) {
        int ok, failed;
        log = fwp_log(fw);
        ok = count(log, "reloaded ");
        failed = count(log, "reload failed");
        free(log);
        if (ok > ok0 || failed > failed0)
            return ok > ok0;
        CHECK_MSG(now_ms() < end, "no word of the reload in 5 s");
        poll(NULL, 0, 5);
    }
}

static void make_config(char *buf, size_t len, uint16_t mport, uint16_t fport, uint16_t up,
                        const char *dead)
{
    snprintf(buf, len,
             "admin: {listen: 127.0.0.1:0}\n"
             "proxies:\n"
             "  - {name: m, listen: 127.0.0.1:%u, upstream: 127.0.0.1:%u}\n"
             "  - name: f\n"
             "    listen: 127.0.0.1:%u\n"
             "    upstream: 127.0.0.1:%u\n"
             "    faults:\n"
             "      - {name: lat, type: latency, latency: 1}\n"
             "      - {name: never, type: reset, after: 1s, probability: 0}\n"
             "%s",
             mport, up, fport, up, dead);
}

/* One connection through the proxy at port: a bytes up, b down, the client closes first. */
static void clean_conn(uint16_t port, int lfd, uint64_t a, uint64_t b)
{
    int c, s;

    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_EQ(sk_write_pattern(c, 0, a, 5000), 0);
    CHECK_UINT(sk_read_n(s, a, 5000).bytes, ==, a);
    CHECK_EQ(sk_write_pattern(s, 0, b, 5000), 0);
    CHECK_UINT(sk_read_n(c, b, 5000).bytes, ==, b);
    sk_shut_wr(c);
    CHECK_EQ(sk_read_until_end(s, 5000, false, 0).end, SK_EOF);
    sk_shut_wr(s);
    CHECK_EQ(sk_read_until_end(c, 5000, false, 0).end, SK_EOF);
    close(c);
    close(s);
}

/* A socket bound to a port and not listening: a connect there is refused, and no one else
 * can take the port while the test runs. */
static int bound_port(uint16_t *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

int main(void)
{
    uint16_t up = 0, dead_up = 0, busy = 0, admin, mport, fport, dport;
    int lfd = sk_listen("127.0.0.1", &up), dfd = bound_port(&dead_up);
    int busy_fd = sk_listen("127.0.0.1", &busy);
    char text[2048], dead[200], tox[300], body[300];
    uint64_t sum_a = 0, sum_b = 0;
    struct fwp *fw;
    json_t *m;
    int c, s;

    /* the parser refuses what is not the format: the checks below can fail */
    CHECK(prom_parses("# HELP finwait_x_total x.\n# TYPE finwait_x_total counter\n"
                      "finwait_x_total{proxy=\"a\"} 1\n"));
    CHECK(!prom_parses("# HELP finwait_x_total x.\n# TYPE finwait_x_total counter\n"
                       "finwait_x_total{proxy=\"a} 1\n"));
    CHECK(!prom_parses("finwait_x_total{proxy=\"a\"} 1\n")); /* no # HELP, # TYPE */
    TEST_PASS("Prometheus' parser refuses a malformed exposition");

    snprintf(dead, sizeof dead, "  - {name: dead, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
             dead_up);
    make_config(text, sizeof text, 0, 0, up, dead);
    snprintf(cfg_path, sizeof cfg_path, "%s",
             fwp_tmpfile(0, "metrics.yaml", text)); /* --no-watch: a reload per SIGHUP */
    fw = fwp_start_argv(NULL, (const char *const[]){"-c", cfg_path, "--no-watch", NULL},
                        "admin API (Toxiproxy's) listening on");
    admin = http_admin_port(fw);
    mport = fwp_port(fw, "m");
    fport = fwp_port(fw, "f");
    dport = fwp_port(fw, "dead");
    CHECK(admin && mport && fport && dport);

    m = scrape(admin);
    CHECK_STR(
        json_string_value(json_object_get(
            json_object_get(json_object_get(m, "families"), "finwait_connections_open"), "type")),
        "gauge");
    CHECK_EQ(get(m, "finwait_connections_total{proxy=\"m\"}"), 0);
    CHECK_EQ(get(m, "finwait_faults_fired_total{fault=\"never\",proxy=\"f\",type=\"reset\"}"), 0);
    CHECK_EQ(get(m, "finwait_reloads_total{result=\"ok\",source=\"file\"}"), 0);
    json_decref(m);
    TEST_PASS("every family has # HELP and # TYPE; configured series start at 0");

    for (int i = 0; i < 3; i++) {
        clean_conn(mport, lfd, 1000 + (uint64_t)i, 20000 + (uint64_t)i);
        sum_a += 1000 + (uint64_t)i;
        sum_b += 20000 + (uint64_t)i;
    }
    m = scrape_until(admin, "finwait_connections_open{proxy=\"m\"}", 0);
    CHECK_EQ(get(m, "finwait_connections_total{proxy=\"m\"}"), 3);
    CHECK_UINT(get(m, "finwait_relayed_bytes_total{direction=\"upstream\",proxy=\"m\"}"), ==,
               sum_a);
    CHECK_UINT(get(m, "finwait_relayed_bytes_total{direction=\"downstream\",proxy=\"m\"}"), ==,
               sum_b);
    CHECK_EQ(get(m, "finwait_fins_received_total{leg=\"client\",proxy=\"m\"}"), 3);
    CHECK_EQ(get(m, "finwait_fins_received_total{leg=\"server\",proxy=\"m\"}"), 3);
    CHECK_EQ(get(m, "finwait_fins_sent_total{leg=\"client\",proxy=\"m\"}"), 3);
    CHECK_EQ(get(m, "finwait_fins_sent_total{leg=\"server\",proxy=\"m\"}"), 3);
    CHECK_EQ(get(m, "finwait_rsts_received_total{leg=\"client\",proxy=\"m\"}"), 0);
    CHECK_EQ(get(m, "finwait_rsts_sent_total{leg=\"server\",proxy=\"m\"}"), 0);
    json_decref(m);
    TEST_PASS("3 connections: their bytes each way and 4 FINs each");

    /* a client that resets: finwait receives the RST on the client leg and sends one on the
     * server leg */
    sk_pair(NULL, "127.0.0.1", mport, lfd, &c, &s);
    sk_reset(c);
    CHECK_EQ(sk_read_until_end(s, 5000, false, 0).end, SK_RESET);
    close(s);
    m = scrape_until(admin, "finwait_connections_open{proxy=\"m\"}", 0);
    CHECK_EQ(get(m, "finwait_connections_total{proxy=\"m\"}"), 4);
    CHECK_EQ(get(m, "finwait_rsts_received_total{leg=\"client\",proxy=\"m\"}"), 1);
    CHECK_EQ(get(m, "finwait_rsts_sent_total{leg=\"server\",proxy=\"m\"}"), 1);
    CHECK_EQ(get(m, "finwait_rsts_sent_total{leg=\"client\",proxy=\"m\"}"), 0);
    json_decref(m);
    TEST_PASS("a peer's reset: RST received on its leg, sent on the other");

    /* bytes of a connection still open, in Toxiproxy's counters (it counts at the end) */
    snprintf(tox, sizeof tox, "listener=\"127.0.0.1:%u\",proxy=\"m\",upstream=\"127.0.0.1:%u\"",
             mport, up);
    sk_pair(NULL, "127.0.0.1", mport, lfd, &c, &s);
    CHECK_EQ(sk_write_pattern(c, 0, 5000, 5000), 0);
    CHECK_UINT(sk_read_n(s, 5000, 5000).bytes, ==, 5000);
    CHECK_EQ(sk_write_pattern(s, 0, 70000, 5000), 0);
    CHECK_UINT(sk_read_n(c, 70000, 5000).bytes, ==, 70000);
    m = scrape(admin);
    CHECK_EQ(get(m, "finwait_connections_open{proxy=\"m\"}"), 1);
    CHECK_EQ(get(m, "finwait_connections_half_closed{proxy=\"m\"}"), 0);
    CHECK_UINT(get(m, "toxiproxy_proxy_received_bytes_total{direction=\"upstream\",%s}", tox), ==,
               sum_a + 5000);
    CHECK_UINT(get(m, "toxiproxy_proxy_sent_bytes_total{direction=\"upstream\",%s}", tox), ==,
               sum_a + 5000);
    CHECK_UINT(get(m, "toxiproxy_proxy_received_bytes_total{direction=\"downstream\",%s}", tox), ==,
               sum_b + 70000);
    CHECK_UINT(get(m, "toxiproxy_proxy_sent_bytes_total{direction=\"downstream\",%s}", tox), ==,
               sum_b + 70000);
    json_decref(m);
    TEST_PASS("toxiproxy_proxy_*_bytes_total count a connection's bytes while it is open");

    sk_shut_wr(c);
    CHECK_EQ(sk_read_until_end(s, 5000, false, 0).end, SK_EOF);
    m = scrape(admin);
    CHECK_EQ(get(m, "finwait_connections_half_closed{proxy=\"m\"}"), 1);
    CHECK_EQ(get(m, "finwait_connections_open{proxy=\"m\"}"), 1);
    CHECK_EQ(get(m, "finwait_fins_received_total{leg=\"client\",proxy=\"m\"}"), 4);
    json_decref(m);
    sk_shut_wr(s);
    CHECK_EQ(sk_read_until_end(c, 5000, false, 0).end, SK_EOF);
    close(c);
    close(s);
    m = scrape_until(admin, "finwait_connections_open{proxy=\"m\"}", 0);
    CHECK_EQ(get(m, "finwait_connections_half_closed{proxy=\"m\"}"), 0);
    CHECK_UINT(get(m, "finwait_relayed_bytes_total{direction=\"downstream\",proxy=\"m\"}"), ==,
               sum_b + 70000);
    json_decref(m);
    TEST_PASS("half-closed while the client's FIN is relayed and the server still may send");

    /* a fault fired K = 2 times; the probability-0 one never */
    for (int i = 0; i < 2; i++) {
        sk_pair(NULL, "127.0.0.1", fport, lfd, &c, &s);
        sk_round_trip(c, s);
        close(c);
        close(s);
    }
    m = scrape_until(admin, "finwait_connections_open{proxy=\"f\"}", 0);
    CHECK_EQ(get(m, "finwait_connections_total{proxy=\"f\"}"), 2);
    CHECK_EQ(get(m, "finwait_faults_fired_total{fault=\"lat\",proxy=\"f\",type=\"latency\"}"), 2);
    CHECK_EQ(get(m, "finwait_faults_fired_total{fault=\"never\",proxy=\"f\",type=\"reset\"}"), 0);
    json_decref(m);
    TEST_PASS("faults fired: 2 connections, 2 for the fault that applies, 0 for probability 0");

    CHECK_EQ(sk_connect_read_end(NULL, "127.0.0.1", dport, 5000).end, SK_RESET);
    m = scrape_until(
        admin, "finwait_upstream_connect_failures_total{proxy=\"dead\",reason=\"refused\"}", 1);
    CHECK_EQ(get(m, "finwait_upstream_connect_failures_total{proxy=\"dead\",reason=\"timeout\"}"),
             0);
    CHECK_EQ(get(m, "finwait_rsts_sent_total{leg=\"client\",proxy=\"dead\"}"), 1);
    CHECK_EQ(get(m, "finwait_upstream_connect_failures_total{proxy=\"m\",reason=\"refused\"}"), 0);
    json_decref(m);
    TEST_PASS("an upstream that refuses: reason=\"refused\"");

    /* reloads: a bad file changes nothing, a good one without `dead` drops its series and
     * keeps the others' counts */
    CHECK(!reload(fw, "proxies: [\n"));
    make_config(text, sizeof text, mport, fport, up, "");
    CHECK(reload(fw, text));
    m = scrape(admin);
    CHECK_EQ(get(m, "finwait_reloads_total{result=\"failed\",source=\"file\"}"), 1);
    CHECK_EQ(get(m, "finwait_reloads_total{result=\"ok\",source=\"file\"}"), 1);
    CHECK_EQ(get(m, "finwait_connections_total{proxy=\"dead\"}"), -1);
    CHECK_EQ(get(m, "finwait_upstream_connect_failures_total{proxy=\"dead\",reason=\"refused\"}"),
             -1);
    CHECK_EQ(get(m, "finwait_connections_total{proxy=\"m\"}"), 5);
    CHECK_EQ(get(m, "finwait_faults_fired_total{fault=\"lat\",proxy=\"f\",type=\"latency\"}"), 2);
    json_decref(m);
    TEST_PASS("file reloads counted by result; a removed proxy's series gone, kept ones kept");

    /* the API: one change made, one refused by the kernel (the port is taken), one 404; and
     * a name that needs escaping in a label */
    snprintf(body, sizeof body,
             "{\"name\":\"q\\\"b\\\\s\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}",
             up);
    CHECK_EQ(http_json(admin, "POST", "/proxies", body, NULL), 201);
    snprintf(body, sizeof body,
             "{\"name\":\"taken\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"127.0.0.1:%u\"}", busy,
             up);
    CHECK_EQ(http_json(admin, "POST", "/proxies", body, NULL), 500);
    CHECK_EQ(http_json(admin, "GET", "/proxies/nope", NULL, NULL), 404);
    /* disabled and enabled again: a new listener, the same counters */
    CHECK_EQ(http_json(admin, "POST", "/proxies/m", "{\"enabled\":false}", NULL), 200);
    CHECK_EQ(http_json(admin, "POST", "/proxies/m", "{\"enabled\":true}", NULL), 200);
    ok200 += 2;
    m = scrape(admin);
    CHECK_EQ(get(m, "finwait_connections_total{proxy=\"m\"}"), 5);
    CHECK_EQ(get(m, "finwait_reloads_total{result=\"ok\",source=\"api\"}"), 3);
    CHECK_EQ(get(m, "finwait_reloads_total{result=\"failed\",source=\"api\"}"), 1);
    CHECK_EQ(get(m, "finwait_connections_total{proxy=\"q\\\"b\\\\s\"}"), 0);
    CHECK_EQ(get(m, "finwait_admin_requests_total{code=\"201\"}"), 1);
    CHECK_EQ(get(m, "finwait_admin_requests_total{code=\"500\"}"), 1);
    CHECK_EQ(get(m, "finwait_admin_requests_total{code=\"404\"}"), 1);
    /* every scrape before this one; this one is counted once it is answered */
    CHECK_UINT(get(m, "finwait_admin_requests_total{code=\"200\"}"), ==, ok200 - 1);
    json_decref(m);
    TEST_PASS("API reloads and admin answers counted; label values escaped; a proxy disabled and "
              "enabled keeps its counters");

    /* m's socket kept under a new name: new connections count under it, m's series go */
    make_config(text, sizeof text, mport, fport, up, "");
    CHECK(strstr(text, "{name: m,") != NULL);
    memcpy(strstr(text, "{name: m,"), "{name: n,", 9);
    CHECK(reload(fw, text));
    sk_pair(NULL, "127.0.0.1", mport, lfd, &c, &s);
    close(c);
    close(s);
    m = scrape_until(admin, "finwait_connections_total{proxy=\"n\"}", 1);
    CHECK_EQ(get(m, "finwait_connections_total{proxy=\"m\"}"), -1);
    json_decref(m);
    TEST_PASS("a proxy renamed on the same socket counts under its new name");

    close(lfd);
    close(dfd);
    close(busy_fd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
