/* log.format: json with log.timeline: true stays one JSON object per line. The diagrams were
 * printed as text into the JSON lines (229 lines that no JSON reader takes in one run); now each
 * is one object (event "timeline": the drawn lines in `diagram`, the events in `events`). At
 * level debug the JSON log also carries each data burst (event "data": leg, direction, bytes),
 * and their bytes add up to what the peers exchanged; bytes a fault drops are "dropped". */
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define CONNS 3
#define UP    10
#define DOWN  70000 /* over 64 KiB: the splice path too */

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fwp *fw = fwp_start("log: {format: json, level: debug, timeline: true}\n"
                               "proxies:\n  - {name: jt, listen: 127.0.0.1:0, upstream: "
                               "127.0.0.1:%u}\n"
                               "  - {name: bh, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u,\n"
                               "     faults: [{type: blackhole, direction: upstream}]}\n",
                               up, up);
    json_int_t bytes[CONNS + 1][2] = {{0}};
    int timelines[CONNS + 1] = {0}, lines = 0;
    json_int_t dropped = 0;
    char *log, *line, *save = NULL;

    for (int i = 0; i < CONNS; i++) {
        sk_pair(NULL, "127.0.0.1", fwp_port(fw, "jt"), lfd, &c, &s);
        CHECK_EQ(sk_write_pattern(c, 0, UP, 2000), 0);
        CHECK_UINT(sk_read_n(s, UP, 2000).bytes, ==, UP);
        CHECK_EQ(sk_write_pattern(s, 0, DOWN, 2000), 0);
        CHECK_UINT(sk_read_n(c, DOWN, 2000).bytes, ==, DOWN);
        sk_shut_wr(c);
        CHECK_STR(sk_end_name(sk_read_until_end(s, 3000, false, 0).end), "EOF");
        sk_shut_wr(s);
        CHECK_STR(sk_end_name(sk_read_until_end(c, 3000, false, 0).end), "EOF");
        close(c);
        close(s);
    }
    /* a blackhole: the client's bytes never reach the server */
    sk_pair(NULL, "127.0.0.1", fwp_port(fw, "bh"), lfd, &c, &s);
    CHECK_EQ(sk_write_pattern(c, 0, UP, 2000), 0);
    CHECK(fwp_wait_log(fw, "\"event\":\"dropped\",\"proxy\":\"bh\"", 3000));
    close(c);
    close(s);

    /* the last diagram is written when its connection is freed */
    for (int64_t end = now_ms() + 5000; now_ms() < end; poll(NULL, 0, 10)) {
        int n = 0;
        log = fwp_log(fw);
        for (char *p = log; (p = strstr(p, "\"event\":\"timeline\"")); p++)
            n++;
        free(log);
        if (n == CONNS)
            break;
    }

    log = fwp_log(fw);
    for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL), *v;
        const char *event, *proxy;
        json_int_t id;
        size_t i;

        CHECK_MSG(json_is_object(o), "not a JSON object: %s", line);
        lines++;
        event = json_string_value(json_object_get(o, "event"));
        id = json_integer_value(json_object_get(o, "conn"));
        CHECK(event != NULL);
        proxy = json_string_value(json_object_get(o, "proxy"));
        if (proxy && strcmp(proxy, "bh") == 0) {
            if (strcmp(event, "dropped") == 0) {
                CHECK_STR(json_string_value(json_object_get(o, "direction")), "upstream");
                dropped += json_integer_value(json_object_get(o, "bytes"));
            }
            CHECK(strcmp(event, "data") != 0);
        } else if (strcmp(event, "data") == 0) {
            const char *dir = json_string_value(json_object_get(o, "direction"));
            CHECK_STR(json_string_value(json_object_get(o, "level")), "debug");
            CHECK(id >= 1 && id <= CONNS && dir);
            CHECK_STR(json_string_value(json_object_get(o, "leg")),
                      strcmp(dir, "upstream") == 0 ? "client" : "server");
            CHECK(json_is_real(json_object_get(o, "t_ms")));
            bytes[id][strcmp(dir, "upstream") == 0 ? 0 : 1] +=
                json_integer_value(json_object_get(o, "bytes"));
        } else if (strcmp(event, "timeline") == 0) {
            CHECK(id >= 1 && id <= CONNS);
            timelines[id]++;
            CHECK_CONTAINS(json_string_value(json_object_get(o, "msg")),
                           "client <-> finwait <-> server");
            v = json_object_get(o, "diagram");
            CHECK(json_is_array(v) && json_array_size(v) >= 6);
            CHECK_CONTAINS(json_string_value(json_array_get(v, 0)), "finwait");
            /* the drawn FINs are there */
            {
                int fins = 0;
                json_t *l;
                json_array_foreach(v, i, l) fins += strstr(json_string_value(l), " FIN ") != NULL;
                CHECK_INT(fins, >=, 4);
            }
            v = json_object_get(o, "events");
            CHECK(json_is_array(v) && json_array_size(v) >= 6);
            CHECK_STR(json_string_value(json_object_get(json_array_get(v, 0), "event")),
                      "accepted");
        }
        json_decref(o);
    }
    free(log);
    for (int i = 1; i <= CONNS; i++) {
        CHECK_INT(timelines[i], ==, 1);
        CHECK_INT(bytes[i][0], ==, UP);
        CHECK_INT(bytes[i][1], ==, DOWN);
    }
    CHECK_INT(dropped, ==, UP);
    CHECK_INT(lines, >=, CONNS * 8);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    fprintf(stderr, "%d JSON lines\n", lines);
    TEST_PASS("JSON log with timelines and data events: one JSON object per line");
    return 0;
}
