/* `finwait demo` runs every scene in one process and exits 0; each scene shows what its peers
 * observed, and those observations are the faults' documented effects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "netns.h"
#include "proc.h"

/* The line after "=== scene:" that starts with "    client:" must contain `client`. */
static void expect_scene(const char *out, const char *scene, const char *client)
{
    char head[64];
    const char *p, *line;

    snprintf(head, sizeof head, "=== %s:", scene);
    p = strstr(out, head);
    CHECK_MSG(p != NULL, "scene %s missing", scene);
    line = strstr(p, "    client: ");
    CHECK(line != NULL);
    const char *eol = strchr(line, '\n');
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)(eol - line), line);
    CHECK_CONTAINS(buf, client);
}

int main(void)
{
    char *out = NULL;

    /* as root the demo's packet scenes install iptables rules: never in the host's namespace */
    if (!netns_try_enter())
        fprintf(stderr, "no network namespace: the packet scenes will say why they skip\n");
    CHECK_EQ(fwp_run((const char *[]){"demo", NULL}, &out, 60000), 0);
    expect_scene(out, "half-close", "received 4096 of 4096 answer bytes, then EOF");
    expect_scene(out, "delay_fin", "received 4096 of 4096 answer bytes, then EOF");
    expect_scene(out, "delay_fin_forever", "received 0 of 4096 answer bytes, then ECONNRESET");
    expect_scene(out, "rst_instead_of_fin", "then EOF");
    expect_scene(out, "break_half_close", "received 0 of 4096 answer bytes, then EOF");
    expect_scene(out, "reset", "received 1000 of 4096 answer bytes, then ECONNRESET");
    expect_scene(out, "close", "received 1000 of 4096 answer bytes, then EOF");
    expect_scene(out, "refuse", "ECONNRESET");
    expect_scene(out, "limit_data", "received 1000 of 4096 answer bytes, then EOF");
    CHECK_CONTAINS(out, "client                  finwait                 server");
    CHECK_CONTAINS(out, "|-------- FIN --------->|");
    if (strstr(out, "=== drop_final_ack") && !strstr(out, "skipped: packet-level"))
        CHECK_CONTAINS(out, "dropped final ACK");
    free(out);
    CHECK_EQ(fwp_run((const char *[]){"demo", "no-such-scene", NULL}, &out, 5000), 2);
    CHECK_CONTAINS(out, "no demo scene 'no-such-scene'");
    free(out);
    TEST_PASS("demo: every scene, exit 0");
    return 0;
}
