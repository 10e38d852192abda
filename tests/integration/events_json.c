/* GET /events carries exactly the objects of log.format: json: every line of the stream is a
 * JSON object (parsed with jansson) with the log's keys, and is byte for byte a line of the
 * log of the same finwait. */
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "evstream.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0, admin;
    int lfd = sk_listen("127.0.0.1", &up), c, s, rc, lines = 0, conn_lines = 0;
    struct fwp *fw = fwp_start("log: {format: json}\n"
                               "admin: {listen: 127.0.0.1:0}\n"
                               "proxies:\n"
                               "  - {name: j, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                               up);
    struct ev_curl *curl;
    char *body, *log, *line, *save = NULL;
    char logpath[sizeof fw->logpath];

    admin = http_admin_port(fw);
    curl = ev_curl_start(admin, "", 30000);
    sk_pair(NULL, "127.0.0.1", fwp_port(fw, "j"), lfd, &c, &s);
    sk_shut_wr(c);
    CHECK_STR(sk_end_name(sk_read_until_end(s, 3000, false, 0).end), "EOF");
    close(s);
    CHECK_STR(sk_end_name(sk_read_until_end(c, 3000, false, 0).end), "EOF");
    close(c);
    CHECK(fwp_wait_log(fw, "\"event\":\"closed\"", 3000));
    snprintf(logpath, sizeof logpath, "%s", fw->logpath);
    log = fwp_log(fw);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    body = ev_curl_finish(curl, &rc);
    CHECK_EQ(rc, 0);

    for (line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);

        CHECK_MSG(json_is_object(j), "not a JSON object (%s): %s", err.text, line);
        CHECK(json_is_string(json_object_get(j, "ts")));
        CHECK(json_is_string(json_object_get(j, "level")));
        CHECK(json_is_string(json_object_get(j, "event")));
        CHECK(json_is_string(json_object_get(j, "msg")));
        if (json_object_get(j, "conn")) {
            CHECK_STR(json_string_value(json_object_get(j, "proxy")), "j");
            CHECK_EQ(json_integer_value(json_object_get(j, "conn")), 1);
            CHECK(json_is_real(json_object_get(j, "t_ms")));
            conn_lines++;
        }
        json_decref(j);
        /* the SIGTERM line was logged after the log was read */
        if (!strstr(line, "\"event\":\"signal\""))
            CHECK_MSG(strstr(log, line), "not in the log: %s", line);
        lines++;
    }
    fprintf(stderr, "%d lines, %d about the connection\n", lines, conn_lines);
    CHECK_INT(conn_lines, >=, 6); /* accepted, connected, 2 FINs each way, closed */
    TEST_PASS("the stream's lines are the JSON log's lines");
    free(body);
    free(log);
    close(lfd);
    return 0;
}
