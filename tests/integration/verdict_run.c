/*
 * finwait run around a real test command (a Python client): it starts finwait, the command
 * finds the proxy through $FINWAIT_ADMIN, and finwait run exits with the command's status, or
 * 3 when a finding of a --fail-on kind was made: a client that keeps the server's closed
 * connection fails the run, its twin that closes passes, a kind not asked for does not fail
 * it, and the command's own failure comes through. --report writes the three reports.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

/* The client: the proxy's address from the admin API, a request, the answer, then EOF;
 * then it holds the socket HOLD seconds (0: closes at once), and exits with EXIT. */
static const char client_py[] =
    "import json, os, socket, sys, time, urllib.request\n"
    "hold, code = float(sys.argv[1]), int(sys.argv[2])\n"
    "proxies = json.load(urllib.request.urlopen(os.environ['FINWAIT_ADMIN'] + '/proxies'))\n"
    "host, port = proxies['app']['listen'].rsplit(':', 1)\n"
    "assert os.environ['TOXIPROXY_URL'] == os.environ['FINWAIT_ADMIN']\n"
    "s = socket.create_connection((host, int(port)), timeout=5)\n"
    "s.sendall(b'x' * 10)\n"
    "got = b''\n"
    "while True:\n"
    "    b = s.recv(100)\n"
    "    if not b: break\n"
    "    got += b\n"
    "assert len(got) == 20, got\n"
    "if hold: time.sleep(hold)\n"
    "s.close()\n"
    "sys.exit(code)\n";

static void *serve(void *arg)
{
    int lfd = *(int *)arg;

    for (int i = 0; i < 4; i++) {
        int fd = sk_accept(lfd, 20000);
        CHECK(fd >= 0);
        CHECK_UINT(sk_read_n(fd, 10, 5000).bytes, ==, 10);
        CHECK_EQ(sk_write_pattern(fd, 0, 20, 2000), 0);
        close(fd);
    }
    return NULL;
}

static int run(const char *cfg, const char *fail_on, const char *report, const char *py,
               const char *hold, const char *code, char **out)
{
    const char *args[16];
    int n = 0;

    args[n++] = "run";
    args[n++] = "-c";
    args[n++] = cfg;
    args[n++] = "--fail-on";
    args[n++] = fail_on;
    if (report) {
        args[n++] = "--report";
        args[n++] = report;
    }
    args[n++] = "--";
    args[n++] = "python3";
    args[n++] = py;
    args[n++] = hold;
    args[n++] = code;
    args[n] = NULL;
    return fwp_run(args, out, 60000);
}

static bool exists(const char *dir, const char *name)
{
    char p[300];
    struct stat st;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && st.st_size > 0;
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct sk_thread th;
    char yaml[400], dir[] = "/tmp/fw-run-XXXXXX", *out = NULL;
    const char *cfg, *py;
    int rc;

    CHECK(mkdtemp(dir));
    snprintf(yaml, sizeof yaml,
             "proxies:\n"
             "  - {name: app, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
             "     verdicts: {peer_keeps_closed: 300ms}}\n",
             up);
    cfg = fwp_tmpfile(0, "run.yaml", yaml);
    py = fwp_tmpfile(1, "client.py", client_py);
    sk_thread_start(&th, serve, &lfd);

    /* the twin: closes on EOF; nothing found, the command's 0 */
    rc = run(cfg, "all", NULL, py, "0", "0", &out);
    CHECK_MSG(rc == 0, "finwait run: %d\n%s", rc, out);
    CHECK_CONTAINS(out, "(no findings)");
    free(out);

    /* the bug: holds the closed connection 1 s; --fail-on the kind: 3, and the reports */
    rc = run(cfg, "peer_keeps_closed,answer_lost", dir, py, "1", "0", &out);
    CHECK_MSG(rc == 3, "finwait run: %d\n%s", rc, out);
    CHECK_CONTAINS(out, "peer_keeps_closed");
    CHECK_CONTAINS(out, "findings of a --fail-on kind: exit status 3");
    free(out);
    CHECK(exists(dir, "findings.json"));
    CHECK(exists(dir, "junit.xml"));
    CHECK(exists(dir, "report.html"));
    CHECK(exists(dir, "finwait.log"));

    /* the same bug, but not a kind asked for: the command's status */
    rc = run(cfg, "answer_lost", NULL, py, "1", "0", &out);
    CHECK_MSG(rc == 0, "finwait run: %d\n%s", rc, out);
    CHECK_CONTAINS(out, "peer_keeps_closed");
    free(out);

    /* the command's failure comes through */
    rc = run(cfg, "all", NULL, py, "0", "7", &out);
    CHECK_MSG(rc == 7, "finwait run: %d\n%s", rc, out);
    free(out);

    /* a kind that does not exist is a usage error */
    const char *bad[] = {"run", "--fail-on", "close_wait", "--", "true", NULL};
    CHECK_EQ(fwp_run(bad, &out, 10000), 2);
    CHECK_CONTAINS(out, "unknown kind 'close_wait'");
    free(out);

    sk_thread_join(&th);
    close(lfd);
    for (const char *const *f = (const char *const[]){"findings.json", "junit.xml", "report.html",
                                                      "finwait.log", NULL};
         *f; f++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", dir, *f);
        unlink(p);
    }
    rmdir(dir);
    TEST_PASS("finwait run: exit 3 on a --fail-on finding, the command's status otherwise");
    return 0;
}
