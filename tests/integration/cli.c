/* The command line: --version, --help, unknown options, --check (also of a directory or a
 * missing file), a listen port in use. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    char *out = NULL, yaml[512];
    const char *good, *bad;
    uint16_t port = 0;
    int busy;

    CHECK_EQ(fwp_run((const char *[]){"--version", NULL}, &out, 5000), 0);
    CHECK_CONTAINS(out, "finwait ");
    free(out);
    CHECK_EQ(fwp_run((const char *[]){"--help", NULL}, &out, 5000), 0);
    CHECK_CONTAINS(out, "--check");
    CHECK_CONTAINS(out, "--config");
    /* what SIGHUP does to open connections, as live_* and reload_* tests check it: it once
     * said "open ones keep theirs" */
    CHECK_CONTAINS(out, "reaches open connections at once");
    CHECK(strstr(out, "open ones keep theirs") == NULL);
    free(out);
    CHECK_EQ(fwp_run((const char *[]){"--frobnicate", NULL}, &out, 5000), 2);
    CHECK_CONTAINS(out, "usage: finwait");
    free(out);
    TEST_PASS("version, help, unknown option");

    good = fwp_tmpfile(0, "good.yaml",
                       "proxies:\n  - {name: a, listen: 127.0.0.1:18080, upstream: x:1}\n");
    CHECK_EQ(fwp_run((const char *[]){"--check", "-c", good, NULL}, &out, 5000), 0);
    CHECK_CONTAINS(out, "ok");
    free(out);
    bad = fwp_tmpfile(1, "bad.yaml",
                      "proxies:\n"
                      "  - name: a\n"
                      "    listen: 127.0.0.1:18080\n"
                      "    upsteam: x:1\n");
    CHECK_EQ(fwp_run((const char *[]){"--check", "-c", bad, NULL}, &out, 5000), 2);
    CHECK_CONTAINS(out, "bad.yaml:4:5: error: unknown key 'upsteam' in proxy (did you mean "
                        "'upstream'?)");
    CHECK_CONTAINS(out, "    upsteam: x:1\n      ^");
    CHECK_CONTAINS(out, "bad.yaml:2:5: error: missing required key 'upstream'");
    free(out);
    TEST_PASS("--check: 0 when valid, 2 and every error when not");

    /* a directory opens (fopen succeeds on Linux) but reads nothing: not "empty" */
    CHECK_EQ(fwp_run((const char *[]){"--check", "-c", FINWAIT_SOURCE_DIR "/examples", NULL}, &out,
                     5000),
             2);
    CHECK_CONTAINS(out, FINWAIT_SOURCE_DIR "/examples: error: is a directory, not a configuration "
                                           "file");
    CHECK(strstr(out, "empty configuration") == NULL);
    free(out);
    CHECK_EQ(
        fwp_run((const char *[]){"--check", "-c", "/nonexistent/finwait.yaml", NULL}, &out, 5000),
        2);
    CHECK_CONTAINS(out, "/nonexistent/finwait.yaml: error: cannot open: No such file or directory");
    free(out);
    TEST_PASS("--check: a directory or a missing file is named as such, exit 2");

    busy = sk_listen("127.0.0.1", &port);
    snprintf(yaml, sizeof yaml,
             "proxies:\n  - {name: web, listen: 127.0.0.1:%u, upstream: 127.0.0.1:1}\n", port);
    good = fwp_tmpfile(2, "busy.yaml", yaml);
    CHECK_EQ(fwp_run((const char *[]){"-c", good, NULL}, &out, 5000), 1);
    snprintf(yaml, sizeof yaml, "web: cannot listen on 127.0.0.1:%u: address already in use", port);
    CHECK_CONTAINS(out, yaml);
    free(out);
    snprintf(yaml, sizeof yaml, "admin: {listen: '127.0.0.1:%u'}\n", port);
    good = fwp_tmpfile(3, "busy-admin.yaml", yaml);
    CHECK_EQ(fwp_run((const char *[]){"-c", good, NULL}, &out, 5000), 1);
    snprintf(yaml, sizeof yaml, "admin API: cannot listen on 127.0.0.1:%u", port);
    CHECK_CONTAINS(out, yaml);
    free(out);
    close(busy);
    TEST_PASS("listen address in use: one line naming proxy (or admin API) and address, exit 1");
    return 0;
}
