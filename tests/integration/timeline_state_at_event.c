/* An event's `state` is the leg's state when the event happened, not when finwait got round
 * to logging it. It was read from the kernel (TCP_INFO) at the time of the log line, which
 * can be past the event:
 *  - a client that connects and sends its FIN before finwait accepts it is in CLOSE_WAIT on
 *    finwait's side at the accept: "accepted" said CLOSE_WAIT;
 *  - a server that sends its FIN and resets right after (after a bulk answer, which moves by
 *    splice(2)): finwait's socket is CLOSED when it reads the FIN, and "fin_received" said
 *    CLOSED.
 * finwait is stopped (SIGSTOP) while the peers act, so that both happen every time. The JSON
 * log's lines are checked one by one. */
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define EARLY_FIN 5         /* connections whose client sends its FIN before the accept */
#define BULK      (1 << 20) /* the server's answer before its FIN and RST */

/* The state an event implies on its leg: what it must say, whatever came after it. */
static bool state_fits(const char *event, const char *state)
{
    if (strcmp(event, "accepted") == 0 || strcmp(event, "connected") == 0)
        return strcmp(state, "ESTABLISHED") == 0;
    if (strcmp(event, "fin_received") == 0)
        return strcmp(state, "CLOSE_WAIT") == 0 || strcmp(state, "TIME_WAIT") == 0 ||
               strcmp(state, "CLOSING") == 0;
    /* LAST_ACK, or CLOSED once the peer acked finwait's FIN (on loopback, at once) */
    if (strcmp(event, "fin_sent") == 0)
        return strcmp(state, "ESTABLISHED") != 0 && strcmp(state, "CLOSE_WAIT") != 0;
    return true;
}

/* Every event line of the log; returns how many were checked, fails on one that lies. */
static int check_log(struct fwp *fw, int *fin_received)
{
    char *log = fwp_log(fw), *line, *save = NULL;
    int n = 0;

    *fin_received = 0;
    for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *event, *state;

        CHECK_MSG(o != NULL, "not a JSON line: %s", line);
        event = json_string_value(json_object_get(o, "event"));
        state = json_string_value(json_object_get(o, "state"));
        if (event && state) {
            CHECK_MSG(state_fits(event, state), "%s", line);
            n++;
            *fin_received += strcmp(event, "fin_received") == 0;
        }
        json_decref(o);
    }
    free(log);
    return n;
}

/* Stop (or continue) finwait and wait until it is (bounded): what the peers do meanwhile is
 * all in finwait's kernel before finwait reads any of it. */
static void freeze(struct fwp *fw, bool stop)
{
    char path[64], stat[256];
    FILE *f;

    CHECK_EQ(kill(fw->pid, stop ? SIGSTOP : SIGCONT), 0);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)fw->pid);
    for (int64_t end = now_ms() + 3000; now_ms() < end; poll(NULL, 0, 1)) {
        const char *st;
        bool stopped;

        f = fopen(path, "r");
        CHECK(f != NULL);
        CHECK(fgets(stat, sizeof stat, f) != NULL);
        fclose(f);
        st = strrchr(stat, ')');
        CHECK(st != NULL);
        stopped = st[2] == 'T' || st[2] == 't';
        if (stopped == stop)
            return;
    }
    CHECK_MSG(false, "finwait did not %s", stop ? "stop" : "continue");
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up), c[EARLY_FIN], s, fins = 0;
    struct fwp *fw = fwp_start("log: {format: json}\n"
                               "proxies:\n  - {name: st, listen: 127.0.0.1:0, upstream: "
                               "127.0.0.1:%u}\n",
                               up);
    uint16_t port = fwp_port(fw, "st");
    struct sk_read r;
    char last[32];

    /* connect and FIN while finwait is stopped: the FIN is in before finwait accepts */
    freeze(fw, true);
    for (int i = 0; i < EARLY_FIN; i++) {
        c[i] = sk_connect("127.0.0.1", port, 5000);
        CHECK(c[i] >= 0);
        sk_shut_wr(c[i]);
    }
    freeze(fw, false);
    for (int i = 0; i < EARLY_FIN; i++) {
        s = sk_accept(lfd, 5000);
        CHECK(s >= 0);
        CHECK_STR(sk_end_name(sk_read_until_end(s, 3000, false, 0).end), "EOF");
        close(s);
    }
    for (int i = 0; i < EARLY_FIN; i++) {
        CHECK_STR(sk_end_name(sk_read_until_end(c[i], 3000, false, 0).end), "EOF");
        close(c[i]);
    }

    /* a bulk answer (it moves by splice(2)), read by the client; then, while finwait is
     * stopped, the server's FIN and an RST right behind it */
    sk_pair(NULL, "127.0.0.1", port, lfd, &c[0], &s);
    CHECK_EQ(sk_write_pattern(s, 0, BULK, 5000), 0);
    r = sk_read_n(c[0], BULK, 5000);
    CHECK_UINT(r.bytes, ==, BULK);
    freeze(fw, true);
    sk_shut_wr(s);
    sk_reset(s);
    freeze(fw, false);
    r = sk_read_until_end(c[0], 3000, false, 0);
    CHECK(r.end == SK_EOF || r.end == SK_RESET);
    close(c[0]);

    snprintf(last, sizeof last, "\"conn\":%d,", EARLY_FIN + 1);
    for (int64_t end = now_ms() + 3000; now_ms() < end; poll(NULL, 0, 10)) {
        char *log = fwp_log(fw);
        bool done = strstr(log, last) && strstr(strstr(log, last), "\"event\":\"closed\"");
        free(log);
        if (done)
            break;
    }
    CHECK_INT(check_log(fw, &fins), >=, 3 * EARLY_FIN);
    CHECK_INT(fins, >=, EARLY_FIN);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("every event's state is the state of its moment");
    return 0;
}
