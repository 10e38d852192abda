/* finwait as toxiproxy-cli, against a running finwait's admin API: create, list, inspect,
 * toxic add/update/remove, toggle, delete print toxiproxy-cli's lines and exit 0; a missing
 * proxy or toxic is its error line and exit 1, an unknown command exit 3. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pair.h"
#include "proc.h"
#include "sock.h"

static char url[64];

/* `finwait cli -h URL ARGS...`: its exit status; *out its stdout and stderr. */
static int cli(char **out, const char *const *args)
{
    const char *argv[24] = {"cli", "-h", url};
    size_t n = 3;

    for (size_t i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return fwp_run(argv, out, 10000);
}

/* The same, expecting `status` and output equal to `want`. */
static void cli_says(int status, const char *want, const char *const *args)
{
    char *out = NULL;
    int rc = cli(&out, args);

    CHECK_STR(out, want);
    CHECK_EQ(rc, status);
    free(out);
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    char upstream[32], want[512], *out = NULL, dir[64] = "/tmp/fwtest.XXXXXX", link[128];
    struct fwp *fw =
        fwp_start_argv(NULL, (const char *[]){"--admin", "127.0.0.1:0", NULL}, "admin API");

    snprintf(url, sizeof url, "http://127.0.0.1:%u", fwp_admin_port(fw));
    snprintf(upstream, sizeof upstream, "127.0.0.1:%u", up);

    cli_says(0, "", (const char *[]){"list", NULL});
    cli_says(0, "Created new proxy web\n",
             (const char *[]){"create", "-l", "127.0.0.1:0", "-u", upstream, "web", NULL});
    cli_says(1, "Failed to create proxy: create: HTTP 409: proxy already exists\n\n",
             (const char *[]){"c", "--listen", "127.0.0.1:0", "--upstream", upstream, "web", NULL});
    port = fwp_port(fw, "web");
    snprintf(want, sizeof want, "web\t127.0.0.1:%u\t%s\tenabled\t0\n", port, upstream);
    cli_says(0, want, (const char *[]){"ls", NULL});
    TEST_PASS("create, list (ls): toxiproxy-cli's lines; a second create is its error, exit 1");

    cli_says(0, "Added downstream latency toxic 'latency_downstream' on proxy 'web'\n",
             (const char *[]){"toxic", "add", "-t", "latency", "-a", "latency=100", "web", NULL});
    cli_says(0, "Added upstream slicer toxic 'cut' on proxy 'web'\n",
             (const char *[]){"t", "a", "--type", "slicer", "-n", "cut", "-u", "--tox", "0.5", "-a",
                              "average_size=64", "-a", "delay=10", "web", NULL});
    cli_says(0,
             "latency_downstream\ttype=latency\tstream=downstream\ttoxicity=1.00\tattributes=[\t"
             "jitter=0\tlatency=100\t]\n"
             "cut\ttype=slicer\tstream=upstream\ttoxicity=0.50\tattributes=[\taverage_size=64\t"
             "delay=10\tsize_variation=0\t]\n",
             (const char *[]){"inspect", "web", NULL});
    snprintf(want, sizeof want, "web\t127.0.0.1:%u\t%s\tenabled\t2\n", port, upstream);
    cli_says(0, want, (const char *[]){"list", NULL});
    TEST_PASS("toxic add (-t -n -a -u --tox), inspect: one line per toxic, attributes sorted");

    /* toxiproxy-cli sends toxicity 1 when --tox is not given */
    cli_says(
        0, "Updated toxic 'cut' on proxy 'web'\n",
        (const char *[]){"toxic", "update", "-n", "cut", "-a", "average_size=128", "web", NULL});
    cli_says(0,
             "latency_downstream\ttype=latency\tstream=downstream\ttoxicity=1.00\tattributes=[\t"
             "jitter=0\tlatency=100\t]\n"
             "cut\ttype=slicer\tstream=upstream\ttoxicity=1.00\tattributes=[\taverage_size=128\t"
             "delay=10\tsize_variation=0\t]\n",
             (const char *[]){"i", "web", NULL});
    cli_says(0, "Removed toxic 'cut' on proxy 'web'\n",
             (const char *[]){"toxic", "remove", "-n", "cut", "web", NULL});
    cli_says(1,
             "Failed to remove toxic: failed to remove toxic 'cut' from proxy 'web': HTTP 404: "
             "toxic not found\n\n",
             (const char *[]){"toxic", "d", "-n", "cut", "web", NULL});
    cli_says(0, "Removed toxic 'latency_downstream' on proxy 'web'\n",
             (const char *[]){"t", "r", "--toxicName", "latency_downstream", "web", NULL});
    TEST_PASS("toxic update (toxicity back to 1), remove; removing it twice is exit 1");

    /* the proxy relays, then toggle disables it: refused; toggle again: relays */
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    close(c);
    close(s);
    cli_says(0, "Proxy web is now disabled\n", (const char *[]){"toggle", "web", NULL});
    c = sk_connect("127.0.0.1", port, 1000);
    CHECK_MSG(c < 0 && errno == ECONNREFUSED, "a disabled proxy still accepts");
    CHECK_EQ(cli(&out, (const char *[]){"list", NULL}), 0);
    snprintf(want, sizeof want, "\t%s\tdisabled\t0\n", upstream);
    CHECK_CONTAINS(out, want);
    free(out);
    cli_says(0, "Proxy web is now enabled\n", (const char *[]){"tog", "web", NULL});
    /* listening again, on the port list shows (a new one: it was created with port 0) */
    CHECK_EQ(cli(&out, (const char *[]){"list", NULL}), 0);
    CHECK(sscanf(out, "web\t127.0.0.1:%hu\t", &port) == 1);
    free(out);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    close(c);
    close(s);
    TEST_PASS("toggle: disabled refuses connections, enabled again relays");

    cli_says(1, "Failed to retrieve proxy nope: HTTP 404: proxy not found\n\n",
             (const char *[]){"inspect", "nope", NULL});
    cli_says(1,
             "Failed to add toxic: failed to retrieve proxy with name `nope`: HTTP 404: proxy not "
             "found\n\n",
             (const char *[]){"toxic", "add", "-t", "latency", "nope", NULL});
    cli_says(0, "Deleted proxy web\n", (const char *[]){"delete", "web", NULL});
    cli_says(1, "Failed to retrieve proxy web: HTTP 404: proxy not found\n\n",
             (const char *[]){"d", "web", NULL});
    cli_says(3, "No help topic for 'frobnicate'\n", (const char *[]){"frobnicate", NULL});
    CHECK_EQ(cli(&out, (const char *[]){"create", "-l", "127.0.0.1:0", "web", NULL}), 1);
    CHECK_CONTAINS(out, "Required argument 'upstream' was empty.\n");
    free(out);
    TEST_PASS("a missing proxy: toxiproxy-cli's error line, exit 1; unknown command, exit 3");

    /* as toxiproxy-cli, the API's URL from TOXIPROXY_URL */
    CHECK(mkdtemp(dir) != NULL);
    snprintf(link, sizeof link, "%s/toxiproxy-cli", dir);
    CHECK(symlink(FINWAIT_BIN, link) == 0);
    setenv("TOXIPROXY_URL", url + strlen("http://"), 1); /* the scheme is optional */
    CHECK_EQ(fwp_run_bin(
                 link, (const char *[]){"create", "-l", "127.0.0.1:0", "-u", upstream, "db", NULL},
                 &out, 10000),
             0);
    CHECK_STR(out, "Created new proxy db\n");
    free(out);
    setenv("TOXIPROXY_URL", "http://127.0.0.1:1", 1);
    CHECK_EQ(fwp_run_bin(link, (const char *[]){"list", NULL}, &out, 10000), 1);
    CHECK_CONTAINS(out, "Failed to retrieve proxies: fail to request: Get \"http://127.0.0.1:1/"
                        "proxies\": ");
    free(out);
    unsetenv("TOXIPROXY_URL");
    unlink(link);
    rmdir(dir);
    TEST_PASS("named toxiproxy-cli with TOXIPROXY_URL; no API there: exit 1");

    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    close(lfd);
    return 0;
}
