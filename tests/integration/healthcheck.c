/* finwait-healthcheck, the container image's HEALTHCHECK, against a running finwait: exit 0 on
 * a 200 from /version, 1 with one line naming the URL and the reason otherwise (a token the
 * probe lacks: 401 and a hint; an unknown route: 404; nothing listening). The URL comes from
 * the argument, else $FINWAIT_HEALTH_URL; $FINWAIT_TOKEN is sent as the bearer token. */
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define TOKEN "healthcheck-token-0123"

int main(void)
{
    char bin[512], dir[512], url[96], other[96], dead[96], *out = NULL;
    uint16_t dead_port = 0;
    int dfd, rc;
    struct fwp *fw;

    /* built beside finwait */
    snprintf(dir, sizeof dir, "%s", FINWAIT_BIN);
    snprintf(bin, sizeof bin, "%s/finwait-healthcheck", dirname(dir));
    CHECK_MSG(access(bin, X_OK) == 0, "%s is not built", bin);
    unsetenv("FINWAIT_HEALTH_URL");
    unsetenv("FINWAIT_TOKEN");

    fw = fwp_start("admin: {listen: '127.0.0.1:0', token: '" TOKEN "'}\nproxies: []\n");
    snprintf(url, sizeof url, "http://127.0.0.1:%u/version", fwp_admin_port(fw));
    snprintf(other, sizeof other, "http://127.0.0.1:%u/no-such-route", fwp_admin_port(fw));

    /* the API wants its token: unhealthy, and the line says what to set */
    rc = fwp_run_bin(bin, (const char *[]){url, NULL}, &out, 10000);
    CHECK_EQ(rc, 1);
    CHECK_CONTAINS(out, url);
    CHECK_CONTAINS(out, "HTTP 401");
    CHECK_CONTAINS(out, "FINWAIT_TOKEN");
    free(out);

    /* with the token: healthy, and silent */
    setenv("FINWAIT_TOKEN", TOKEN, 1);
    rc = fwp_run_bin(bin, (const char *[]){url, NULL}, &out, 10000);
    CHECK_EQ(rc, 0);
    CHECK_STR(out, "");
    free(out);

    /* the URL from the environment, as a container sets it for an API on another port */
    setenv("FINWAIT_HEALTH_URL", url, 1);
    rc = fwp_run_bin(bin, (const char *[]){NULL}, &out, 10000);
    CHECK_EQ(rc, 0);
    free(out);
    unsetenv("FINWAIT_HEALTH_URL");

    /* an answer that is not a 200 is not health */
    rc = fwp_run_bin(bin, (const char *[]){other, NULL}, &out, 10000);
    CHECK_EQ(rc, 1);
    CHECK_CONTAINS(out, "HTTP 404");
    free(out);

    /* nothing listening: a port that was bound, then closed */
    dfd = sk_listen("127.0.0.1", &dead_port);
    close(dfd);
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u/version", dead_port);
    rc = fwp_run_bin(bin, (const char *[]){dead, NULL}, &out, 10000);
    CHECK_EQ(rc, 1);
    CHECK_CONTAINS(out, dead);
    CHECK_CONTAINS(out, "Couldn't connect");
    free(out);

    /* without a URL anywhere: the image's default, 127.0.0.1:8474 (whatever answers there, the
     * line names it) */
    rc = fwp_run_bin(bin, (const char *[]){NULL}, &out, 10000);
    if (rc != 0)
        CHECK_CONTAINS(out, "http://127.0.0.1:8474/version");
    free(out);

    unsetenv("FINWAIT_TOKEN");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("finwait-healthcheck: 200 healthy; 401, 404, refused unhealthy; URL and token from "
              "the environment");
    return 0;
}
