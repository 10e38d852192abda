/* log.format: json: one object per line with stable keys, the connection's events in order,
 * each with the leg's kernel TCP state; the bound address on the listening line. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fwp *fw = fwp_start("log: {format: json}\n"
                               "proxies:\n  - {name: j, listen: 127.0.0.1:0, upstream: "
                               "127.0.0.1:%u}\n",
                               up);
    char *log, *line, *save = NULL;
    int lines = 0;

    c = sk_connect("127.0.0.1", fwp_port(fw, "j"), 5000);
    CHECK(c >= 0);
    s = sk_accept(lfd, 5000);
    CHECK(s >= 0);
    sk_shut_wr(c);
    CHECK_STR(sk_end_name(sk_read_until_end(s, 3000, false, 0).end), "EOF");
    close(s);
    CHECK_STR(sk_end_name(sk_read_until_end(c, 3000, false, 0).end), "EOF");
    close(c);
    CHECK(fwp_wait_log(fw, "\"event\":\"closed\"", 3000));
    /* a reload's errors and verdict stay JSON lines too */
    CHECK(!fwp_reload(fw, "log: {format: json}\n"
                          "proxies:\n  - {name: j, listen: 127.0.0.1:0, upsteam: x}\n"));
    CHECK(fwp_reload(fw,
                     "log: {format: json}\n"
                     "proxies:\n  - {name: j, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                     "     idle_timeout: 1m}\n",
                     up));
    log = fwp_log(fw);
    for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);
        CHECK_MSG(line[0] == '{' && line[n - 1] == '}', "not a JSON object: %s", line);
        CHECK_CONTAINS(line, "{\"ts\":\"");
        CHECK_CONTAINS(line, "\"level\":\"");
        CHECK_CONTAINS(line, "\"event\":\"");
        lines++;
    }
    free(log);
    log = fwp_log(fw);
    CHECK_CONTAINS(log, "\"event\":\"listening\",\"proxy\":\"j\",\"addr\":\"127.0.0.1:");
    CHECK_CONTAINS(log, "\"event\":\"accepted\",\"proxy\":\"j\",\"conn\":1,");
    CHECK_CONTAINS(log, "\"event\":\"fin_received\",\"proxy\":\"j\",\"conn\":1,");
    CHECK_CONTAINS(log, "\"leg\":\"client\",\"state\":\"CLOSE_WAIT\"");
    CHECK_CONTAINS(log, "\"event\":\"fin_sent\"");
    CHECK_CONTAINS(log, "\"bytes_up\":0,\"bytes_down\":0");
    CHECK_CONTAINS(log, "\"event\":\"config_error\"");
    CHECK_CONTAINS(log, "finwait.yaml:3:36: error: unknown key 'upsteam' in proxy");
    CHECK_CONTAINS(log, "\"event\":\"reloaded\",\"proxy\":\"j\",\"addr\":\"127.0.0.1:");
    /* events of the connection come in the order they happened */
    CHECK(strstr(log, "\"event\":\"accepted\"") < strstr(log, "\"event\":\"connected\""));
    CHECK(strstr(log, "\"event\":\"connected\"") < strstr(log, "\"event\":\"fin_received\""));
    CHECK(strstr(log, "\"event\":\"fin_received\"") < strstr(log, "\"event\":\"closed\""));
    free(log);
    CHECK_INT(lines, >=, 7);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("JSON lines with stable keys, a reload's errors included");
    return 0;
}
