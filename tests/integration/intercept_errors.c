/* What transparent interception needs, said in one line when it is missing: CAP_NET_ADMIN
 * (how to grant it in compose and Kubernetes), or rules the kernel refuses (here a cgroup
 * that does not exist). finwait does not start then, and leaves no chain behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "proc.h"

static int lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

int main(void)
{
    const char *cfg;
    char *out = NULL;

    netns_enter(2);
    if (access("/usr/bin/setpriv", X_OK) != 0) {
        fprintf(stderr, "SKIP: setpriv (util-linux) is not installed\n");
        return 77;
    }
    cfg = fwp_tmpfile(0, "intercept.yaml",
                      "proxies:\n  - name: db\n    listen: :0\n    intercept: {ports: [5432]}\n");
    /* root without CAP_NET_ADMIN, as in a container that was not granted it */
    CHECK_INT(fwp_run_bin("/usr/bin/setpriv",
                          (const char *[]){"--bounding-set=-net_admin", "--inh-caps=-net_admin",
                                           FINWAIT_BIN, "-c", cfg, NULL},
                          &out, 10000),
              !=, 0);
    CHECK_CONTAINS(out,
                   "finwait: error: transparent interception (proxy 'db') needs CAP_NET_ADMIN to "
                   "write its iptables rules: run finwait as root, or grant CAP_NET_ADMIN "
                   "(docker-compose: cap_add: [NET_ADMIN], with user: \"0\" for finwait's "
                   "image; Kubernetes: securityContext.capabilities.add: [\"NET_ADMIN\"] with "
                   "runAsUser: 0)\n");
    CHECK_EQ(netns_finwait_rules(), 0);
    free(out);
    TEST_PASS("without CAP_NET_ADMIN: one line saying how to grant it");

    /* --check reads the configuration only: it needs no privilege */
    CHECK_EQ(fwp_run_bin("/usr/bin/setpriv",
                         (const char *[]){"--bounding-set=-net_admin", "--inh-caps=-net_admin",
                                          FINWAIT_BIN, "--check", "-c", cfg, NULL},
                         &out, 10000),
             0);
    CHECK_CONTAINS(out, ":2:5: note: proxy 'db' intercepts connections (mode: redirect): it needs "
                        "Linux, CAP_NET_ADMIN and iptables\n");
    CHECK_CONTAINS(out, ": ok (1 proxy, interception needs CAP_NET_ADMIN)\n");
    free(out);
    TEST_PASS("--check needs no privilege, and says interception will");

    cfg = fwp_tmpfile(1, "cgroup.yaml",
                      "proxies:\n  - name: db\n    listen: :0\n"
                      "    intercept: {ports: [5432], cgroup: /no/such/cgroup/finwait-test}\n");
    CHECK_INT(fwp_run((const char *[]){"-c", cfg, NULL}, &out, 10000), !=, 0);
    CHECK_CONTAINS(out, "iptables-restore could not install the interception rules: ");
    CHECK_EQ(netns_finwait_rules(), 0);
    {
        /* the error is one line (after the listening line) */
        const char *e = strstr(out, "finwait: error: iptables-restore could not");
        CHECK(e != NULL);
        CHECK_EQ(lines(e), 1);
    }
    free(out);
    TEST_PASS("rules the kernel refuses: one line with the tool's words");
    return 0;
}
