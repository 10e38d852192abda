/*
 * How the client coped with finwait's faults, from real peers. Three proxies, one fault each:
 *  - `reset` sends the client an RST after its 4-byte request; the client reconnects: retried;
 *  - `close` sends it a FIN after the request; the client reads EOF, closes and stays away:
 *    closed (its close's time after the fault);
 *  - `blackhole` swallows the request; the client waits without a timeout: hung, and once it
 *    gives up and closes, closed (after as long as it waited).
 * Each is read from GET /findings' `coping`, then from `finwait report` (text and JUnit).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

/* The count of `outcome` for `fault` in GET /findings' coping, and its min_ms/max_ms. */
static int64_t outcome(uint16_t admin, const char *fault, const char *what, double *min_ms,
                       double *max_ms)
{
    json_t *j = NULL, *c;
    size_t i;
    int64_t n = -1;

    CHECK_EQ(http_json(admin, "GET", "/findings", NULL, &j), 200);
    json_array_foreach(json_object_get(j, "coping"), i, c)
    {
        json_t *o;
        if (strcmp(json_string_value(json_object_get(c, "fault")), fault) != 0)
            continue;
        o = json_object_get(json_object_get(c, "outcomes"), what);
        n = json_integer_value(json_object_get(o, "count"));
        if (min_ms)
            *min_ms = json_number_value(json_object_get(o, "min_ms"));
        if (max_ms)
            *max_ms = json_number_value(json_object_get(o, "max_ms"));
    }
    json_decref(j);
    return n;
}

/* Wait (bounded) until `fault` has `want` connections of `what`. */
static bool wait_outcome(uint16_t admin, const char *fault, const char *what, int64_t want,
                         int timeout_ms, double *min_ms, double *max_ms)
{
    int64_t end = now_ms() + timeout_ms;

    do {
        if (outcome(admin, fault, what, min_ms, max_ms) == want)
            return true;
        usleep(20000);
    } while (now_ms() < end);
    fprintf(stderr, "fault %s: %s is %lld, not %lld\n", fault, what,
            (long long)outcome(admin, fault, what, NULL, NULL), (long long)want);
    return false;
}

static void *serve(void *arg)
{
    int lfd = *(int *)arg;

    /* reset's two connections and close's one, each read to its end; blackhole's closed at
     * once (its FIN is swallowed too: the client still hears nothing) */
    for (int i = 0; i < 4; i++) {
        int fd = sk_accept(lfd, 10000);
        CHECK(fd >= 0);
        if (i < 3)
            sk_read_until_end(fd, 10000, false, 0);
        close(fd);
    }
    return NULL;
}

int main(void)
{
    uint16_t up = 0, admin;
    int lfd = sk_listen("127.0.0.1", &up), c;
    struct sk_thread th;
    struct fwp *fw;
    struct sk_read r;
    double lo, hi;
    int64_t t0;
    char url[64], junit[] = "/tmp/fw-coping-XXXXXX", *out = NULL;
    int jfd = mkstemp(junit);

    CHECK(jfd >= 0);
    close(jfd);
    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - {name: r, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                   "     verdicts: {retry_within: 300ms, hung_after: 600ms},\n"
                   "     faults: [{name: reset_client, type: reset, after_bytes: 4,\n"
                   "               direction: upstream, to: client}]}\n"
                   "  - {name: c, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                   "     verdicts: {retry_within: 300ms, hung_after: 600ms},\n"
                   "     faults: [{name: close_client, type: close, after_bytes: 4,\n"
                   "               direction: upstream, to: both}]}\n"
                   "  - {name: h, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                   "     verdicts: {retry_within: 300ms, hung_after: 600ms},\n"
                   "     faults: [{name: silence, type: blackhole}]}\n",
                   up, up, up);
    admin = http_admin_port(fw);
    sk_thread_start(&th, serve, &lfd);

    /* retried: RST after the request, and a new connection at once */
    c = sk_connect("127.0.0.1", fwp_port(fw, "r"), 5000);
    CHECK(c >= 0);
    CHECK_EQ(sk_write_all(c, "ping", 4, 2000), 0);
    r = sk_read_until_end(c, 5000, false, 0);
    CHECK_MSG(r.end == SK_RESET, "the fault's RST: the client saw %s", sk_end_name(r.end));
    close(c);
    c = sk_connect("127.0.0.1", fwp_port(fw, "r"), 5000);
    CHECK(c >= 0);
    CHECK(wait_outcome(admin, "reset_client", "retried", 1, 3000, &lo, &hi));
    CHECK_DBL(lo, >=, 0);
    CHECK_DBL(hi, <, 1000);
    close(c); /* no bytes: the fault never acts on the retry */
    TEST_PASS("an RST, then a new connection of the client: retried");

    /* closed: a FIN after the request; the client closes and does not come back */
    c = sk_connect("127.0.0.1", fwp_port(fw, "c"), 5000);
    CHECK(c >= 0);
    CHECK_EQ(sk_write_all(c, "ping", 4, 2000), 0);
    r = sk_read_until_end(c, 5000, false, 0);
    CHECK_MSG(r.end == SK_EOF, "the fault's FIN: the client saw %s", sk_end_name(r.end));
    close(c);
    CHECK_EQ(outcome(admin, "close_client", "closed", NULL, NULL), 0); /* within retry_within */
    CHECK(wait_outcome(admin, "close_client", "closed", 1, 3000, &lo, &hi));
    CHECK_DBL(hi, <, 1000);
    TEST_PASS("a FIN, the client closes and stays away past retry_within: closed");

    /* hung: the request vanishes, the client waits; then it gives up and closes */
    c = sk_connect("127.0.0.1", fwp_port(fw, "h"), 5000);
    CHECK(c >= 0);
    t0 = now_ms();
    CHECK_EQ(sk_write_all(c, "ping", 4, 2000), 0);
    CHECK(sk_silent(c, 300));
    CHECK(wait_outcome(admin, "silence", "hung", 1, 3000, &lo, &hi));
    CHECK_DBL(hi, >=, 600);
    CHECK_INT(now_ms() - t0, >=, 600);
    TEST_PASS("a blackhole, the client waits without a timeout: hung once hung_after passed");

    snprintf(url, sizeof url, "http://127.0.0.1:%u", admin);
    {
        const char *args[] = {"report", "--admin", url, "--junit", junit, NULL};
        char *s;
        CHECK_EQ(fwp_run(args, &out, 10000), 0);
        CHECK_CONTAINS(out, "how the clients coped with finwait's faults:");
        CHECK_CONTAINS(out, "r: fault reset_client acted on 1 connection: the client retried");
        CHECK_CONTAINS(out, "c: fault close_client acted on 1 connection: closed without retrying");
        CHECK_CONTAINS(out, "h: fault silence acted on 1 connection: hung 1 time");
        free(out);
        s = fwp_slurp(junit);
        CHECK_CONTAINS(s, "<testcase classname=\"finwait.h\" name=\"faults_coped\">");
        CHECK_CONTAINS(s, "tests=\"27\" failures=\"0\"");
        free(s);
    }
    TEST_PASS("finwait report: one line per fault, and a faults_coped test case per proxy");

    close(c);
    CHECK(wait_outcome(admin, "silence", "closed", 1, 3000, &lo, &hi));
    CHECK_DBL(lo, >=, 600);
    CHECK_EQ(outcome(admin, "silence", "hung", NULL, NULL), 0);
    TEST_PASS("the hung client closes at last: closed, after as long as it waited");

    sk_thread_join(&th);
    close(lfd);
    unlink(junit);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
