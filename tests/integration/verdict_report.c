/*
 * finwait report: after a client wrote into a connection the server had closed (and another
 * kept a closed one), the summary names both, the JUnit XML has one test case per proxy and
 * kind with a failure carrying the evidence, and the HTML page draws the example connection
 * as an SVG sequence diagram, which headless Chromium renders to a non-blank screenshot.
 */
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "findings.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

static void *serve(void *arg)
{
    int lfd = *(int *)arg;

    for (int i = 0; i < 2; i++) {
        int fd = sk_accept(lfd, 10000);
        CHECK(fd >= 0);
        struct sk_read r = sk_read_n(fd, 10, 2000);
        CHECK_UINT(r.bytes, ==, 10);
        CHECK_EQ(sk_write_pattern(fd, 0, 20, 2000), 0);
        close(fd); /* answered, closed: a second request gets an RST */
    }
    return NULL;
}

static const char *chromium(void)
{
    static const char *const bins[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                                       "/usr/bin/google-chrome"};
    for (size_t i = 0; i < 3; i++)
        if (access(bins[i], X_OK) == 0)
            return bins[i];
    return NULL;
}

int main(void)
{
    uint16_t up = 0, admin;
    int lfd = sk_listen("127.0.0.1", &up), c, k;
    struct sk_thread th;
    struct fwp *fw;
    char url[64], junit[128], html[128], png[128], *out = NULL, *s;
    const char *keep = getenv("FW_REPORT_KEEP"), *bin;
    char dir[] = "/tmp/fw-report-XXXXXX";
    json_t *f;
    struct stat st;

    CHECK(mkdtemp(dir));
    snprintf(junit, sizeof junit, "%s/junit.xml", keep ? keep : dir);
    snprintf(html, sizeof html, "%s/report.html", keep ? keep : dir);
    snprintf(png, sizeof png, "%s/report.png", keep ? keep : dir);
    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - {name: web, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                   "     verdicts: {peer_keeps_closed: 300ms}}\n",
                   up);
    admin = http_admin_port(fw);
    sk_thread_start(&th, serve, &lfd);
    /* a request into the closed connection */
    c = sk_connect("127.0.0.1", fwp_port(fw, "web"), 5000);
    CHECK(c >= 0);
    CHECK_EQ(sk_write_pattern(c, 0, 10, 2000), 0);
    CHECK_UINT(sk_read_n(c, 20, 2000).bytes, ==, 20);
    CHECK(sk_wait_state(c, TCP_CLOSE_WAIT, 5000));
    CHECK_EQ(sk_write_pattern(c, 0, 10, 2000), 0);
    sk_read_until_end(c, 5000, false, 0);
    close(c);
    f = fw_wait_finding(admin, "web", "request_into_closed", 5000);
    CHECK(f);
    json_decref(f);
    /* a client that keeps the closed connection */
    k = sk_connect("127.0.0.1", fwp_port(fw, "web"), 5000);
    CHECK(k >= 0);
    CHECK_EQ(sk_write_pattern(k, 0, 10, 2000), 0);
    CHECK(sk_wait_state(k, TCP_CLOSE_WAIT, 5000));
    f = fw_wait_finding(admin, "web", "peer_keeps_closed", 5000);
    CHECK(f);
    json_decref(f);
    sk_thread_join(&th);

    snprintf(url, sizeof url, "http://127.0.0.1:%u", admin);
    const char *args[] = {"report", "--admin", url, "--junit", junit, "--html", html, NULL};
    CHECK_EQ(fwp_run(args, &out, 10000), 0);
    CHECK_CONTAINS(out, "2 findings of the applications");
    CHECK_CONTAINS(out, "request_into_closed");
    CHECK_CONTAINS(out, "peer_keeps_closed");
    free(out);

    s = fwp_slurp(junit);
    CHECK_CONTAINS(s, "<testsuite name=\"teardown verdicts\" tests=\"8\" failures=\"2\">");
    CHECK_CONTAINS(s, "<testcase classname=\"finwait.web\" name=\"answer_lost\">\n    </testcase>");
    CHECK_CONTAINS(s, "<testcase classname=\"finwait.web\" name=\"request_into_closed\">\n"
                      "      <failure type=\"request_into_closed\" message=\"the server closed");
    CHECK_CONTAINS(s, "request_bytes=10.000");
    free(s);

    s = fwp_slurp(html);
    CHECK_CONTAINS(s, "<svg");
    CHECK_CONTAINS(s, ">server</text>");
    CHECK_CONTAINS(s, "request_into_closed at ");
    CHECK_CONTAINS(s, ">RST</text>");
    CHECK_CONTAINS(s, ">FIN</text>");
    free(s);

    bin = chromium();
    if (bin) {
        char shot[300], html_url[200];
        snprintf(shot, sizeof shot, "--screenshot=%s", png);
        snprintf(html_url, sizeof html_url, "file://%s", html);
        const char *cargs[] = {"--headless",
                               "--no-sandbox",
                               "--disable-gpu",
                               "--window-size=1000,1400",
                               shot,
                               html_url,
                               NULL};
        CHECK_EQ(fwp_run_bin(bin, cargs, &out, 60000), 0);
        free(out);
        CHECK_EQ(stat(png, &st), 0);
        /* a blank page of this size compresses to a few KB; the drawn one is larger */
        CHECK_INT(st.st_size, >, 20000);
        s = fwp_slurp(png);
        CHECK(memcmp(s, "\x89PNG", 4) == 0);
        free(s);
    } else {
        fprintf(stderr, "no chromium: the HTML is not rendered (.ci/setup installs it)\n");
    }
    close(k);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    if (!keep) {
        unlink(junit);
        unlink(html);
        unlink(png);
        rmdir(dir);
    }
    TEST_PASS("finwait report: summary, JUnit XML, HTML with SVG rendered by Chromium");
    return 0;
}
