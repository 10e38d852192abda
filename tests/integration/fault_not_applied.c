/* Why a fault did not fire: at log level debug, one line per connection and fault that does
 * not apply, with the reason. A `match: {client: 10.0.0.0/8}` tested on loopback says so; a
 * probability 0 fault shows the number it drew; faults a reload adds say why they skip an open
 * connection. At info level none of it is printed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "rules/fault.h"
#include "sock.h"

#define CONFIG                                                                                     \
    "seed: 5\n"                                                                                    \
    "log: {level: %s}\n"                                                                           \
    "proxies:\n"                                                                                   \
    "  - name: t\n"                                                                                \
    "    listen: 127.0.0.1:%u\n"                                                                   \
    "    upstream: 127.0.0.1:%u\n"                                                                 \
    "    faults:\n"                                                                                \
    "      - {name: ten, type: delay_fin, delay: 1s, match: {client: 10.0.0.0/8}}\n"               \
    "      - {name: never, type: reset, after: 1s, probability: 0}\n"                              \
    "      - {name: lat, type: latency, latency: 1}\n"                                             \
    "%s"

/* The start of the line of `log` that holds `needle`, up to the time: "finwait: t#1 +". */
static const char *line_of(const char *log, const char *needle, char *buf, size_t len)
{
    const char *at = strstr(log, needle), *start;

    CHECK_MSG(at, "no line with '%s'", needle);
    for (start = at; start > log && start[-1] != '\n'; start--)
        ;
    snprintf(buf, len, "%.*s", (int)strcspn(start, "+") + 1, start);
    return buf;
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fault_rng rng;
    char want[200], line[200], *log;
    struct fwp *fw;

    /* the numbers connection #1 draws: one per fault, in order */
    fault_rng_seed(&rng, 5, "t");
    fault_rng_next(&rng);

    fw = fwp_start(CONFIG, "debug", 0, up, "");
    port = fwp_port(fw, "t");
    CHECK(port != 0);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    sk_round_trip(c, s);
    CHECK(fwp_wait_log(fw, "fault ten not applied: match: client 127.0.0.1 is not in 10.0.0.0/8",
                       5000));
    snprintf(want, sizeof want, "fault never not applied: probability 0: drew %.6f (never applies)",
             fault_rng_next(&rng));
    CHECK(fwp_wait_log(fw, want, 5000));
    log = fwp_log(fw);
    /* each on the connection's line (proxy and id), once; nothing about the fault that applies */
    CHECK_STR(line_of(log, "fault ten not applied", line, sizeof line), "finwait: t#1 +");
    CHECK_STR(line_of(log, "fault never not applied", line, sizeof line), "finwait: t#1 +");
    CHECK(!strstr(log, "fault lat not applied"));
    CHECK(strstr(strstr(log, "fault ten not applied") + 1, "fault ten not applied") == NULL);
    free(log);
    TEST_PASS("debug: a match not met and a probability draw, per connection and fault");

    /* a reload adds faults while #1 is open: each says why it does not reach it */
    CHECK(fwp_reload(fw, CONFIG, "debug", port, up,
                     "      - {name: later, type: latency, latency: 1, connections: new}\n"));
    CHECK(fwp_wait_log(fw, "fault later not applied: connections: new", 5000));
    CHECK(fwp_reload(fw,
                     "log: {level: debug}\n"
                     "proxies:\n"
                     "  - {name: t, listen: 127.0.0.1:%u, upstream: 127.0.0.1:%u,\n"
                     "     faults: [{name: refusing, type: refuse}]}\n",
                     port, up));
    CHECK(fwp_wait_log(fw, "fault refusing not applied: refuse acts on accepts", 5000));
    TEST_PASS("debug: faults a reload adds say why an open connection does not get them");
    close(c);
    close(s);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);

    /* at info level, silence */
    fw = fwp_start(CONFIG, "info", 0, up, "");
    port = fwp_port(fw, "t");
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    sk_round_trip(c, s);
    close(c);
    close(s);
    CHECK(fwp_wait_log(fw, "t#1 +", 5000));
    CHECK(fwp_wait_log(fw, "connection closed", 5000));
    log = fwp_log(fw);
    CHECK(!strstr(log, "not applied"));
    free(log);
    TEST_PASS("info: no such lines");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    close(lfd);
    return 0;
}
