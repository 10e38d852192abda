/* GET /proxies/{proxy}/connections through a half-close: at each step the legs' states finwait
 * reports match what the peers' own TCP_INFO says at the same moment (client FIN_WAIT2 while
 * finwait's client leg is CLOSE_WAIT; server CLOSE_WAIT while finwait's server leg is
 * FIN_WAIT2; ...), the FIN flags follow, the byte counts equal what was sent, and a delay_fin
 * holding the server's FIN says so. When the connection is over it leaves the list. Works with
 * the default log settings: the timeline is recorded without log.timeline. */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

#define UP_BYTES   1000
#define DOWN_BYTES 70000 /* over 64 KiB: also through the splice path */
#define LATE_BYTES 300   /* the server's answer after the client's FIN */

static uint16_t admin;

/* The one connection of proxy t (the test fails unless there is exactly one). */
static json_t *the_conn(void)
{
    json_t *a = NULL, *c;

    CHECK_EQ(http_json(admin, "GET", "/proxies/t/connections", NULL, &a), 200);
    CHECK_MSG(json_is_array(a) && json_array_size(a) == 1, "connections: %s",
              a ? json_dumps(a, 0) : "(none)");
    c = json_incref(json_array_get(a, 0));
    json_decref(a);
    return c;
}

static const char *leg_str(json_t *c, const char *leg, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(c, "legs"), leg), key));
}

static bool leg_flag(json_t *c, const char *leg, const char *key)
{
    return json_is_true(json_object_get(json_object_get(json_object_get(c, "legs"), leg), key));
}

static json_int_t bytes(json_t *c, const char *dir)
{
    return json_integer_value(json_object_get(json_object_get(c, "bytes"), dir));
}

/* Wait (bounded) until finwait reports these leg states; returns the connection then. */
static json_t *wait_states(const char *client_leg, const char *server_leg)
{
    json_t *c = NULL;

    for (int64_t end = now_ms() + 5000; now_ms() < end; poll(NULL, 0, 10)) {
        json_decref(c);
        c = the_conn();
        if (strcmp(leg_str(c, "client", "state"), client_leg) == 0 &&
            strcmp(leg_str(c, "server", "state"), server_leg) == 0)
            return c;
    }
    CHECK_MSG(false, "legs %s/%s, expected %s/%s", leg_str(c, "client", "state"),
              leg_str(c, "server", "state"), client_leg, server_leg);
    return NULL;
}

static const char *fault_state(json_t *c)
{
    json_t *f = json_array_get(json_object_get(c, "faults"), 0);

    CHECK_STR(json_string_value(json_object_get(f, "name")), "slow-fin");
    CHECK_STR(json_string_value(json_object_get(f, "type")), "delay_fin");
    return json_string_value(json_object_get(f, "state"));
}

/* The event with that name and leg in the connection's timeline, or NULL. */
static json_t *event(json_t *tl, const char *name, const char *leg)
{
    size_t i;
    json_t *e;

    json_array_foreach(tl, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "event")), name) == 0 &&
            (!leg || strcmp(json_string_value(json_object_get(e, "leg")), leg) == 0))
            return e;
    }
    return NULL;
}

/* After the client's FIN: its timeline so far, as the JSON log's objects and drawn. */
static void check_timeline(void)
{
    struct http_resp r;
    json_t *c = NULL, *tl, *e;
    double t = -1;
    size_t i;

    CHECK_EQ(http_json(admin, "GET", "/proxies/t/connections/1", NULL, &c), 200);
    CHECK_EQ(json_integer_value(json_object_get(c, "id")), 1);
    tl = json_object_get(c, "timeline");
    CHECK(json_is_array(tl));
    json_array_foreach(tl, i, e)
    {
        /* the JSON log's keys, in time order */
        CHECK(json_is_string(json_object_get(e, "ts")));
        CHECK_STR(json_string_value(json_object_get(e, "level")), "info");
        CHECK_STR(json_string_value(json_object_get(e, "proxy")), "t");
        CHECK_EQ(json_integer_value(json_object_get(e, "conn")), 1);
        CHECK(json_is_string(json_object_get(e, "msg")));
        CHECK_DBL(json_real_value(json_object_get(e, "t_ms")), >=, t);
        t = json_real_value(json_object_get(e, "t_ms"));
    }
    e = event(tl, "accepted", "client");
    CHECK(e && json_is_string(json_object_get(e, "client")));
    e = event(tl, "data", "client");
    CHECK(e);
    CHECK_EQ(json_integer_value(json_object_get(e, "bytes")), UP_BYTES);
    CHECK_STR(json_string_value(json_object_get(e, "direction")), "upstream");
    e = event(tl, "fin_received", "client");
    CHECK(e);
    CHECK_STR(json_string_value(json_object_get(e, "state")), "CLOSE_WAIT");
    CHECK_STR(json_string_value(json_object_get(e, "msg")), "FIN received");
    CHECK(event(tl, "fin_sent", "server"));
    json_decref(c);

    CHECK_EQ(http_req(admin, "GET", "/proxies/t/connections/1",
                      "Host: 127.0.0.1\r\nAccept: text/plain\r\n", NULL, &r),
             200);
    CHECK_CONTAINS(http_header(&r, "Content-Type"), "text/plain");
    CHECK_CONTAINS(r.body, "t#1  client <-> finwait <-> server");
    CHECK_CONTAINS(r.body, "client leg CLOSE_WAIT");
    CHECK_CONTAINS(r.body, "server leg FIN_WAIT");
    http_resp_free(&r);
}

int main(void)
{
    uint16_t up = 0, port;
    int lfd = sk_listen("127.0.0.1", &up), cfd, sfd;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char client[80], addr[64];
    struct sk_read r;
    struct fwp *fw;
    json_t *c, *a = NULL;

    /* the server's FIN is held 3 s: long enough to look at the legs meanwhile */
    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - name: t\n"
                   "    listen: 127.0.0.1:0\n"
                   "    upstream: 127.0.0.1:%u\n"
                   "    faults:\n"
                   "      - {name: slow-fin, type: delay_fin, delay: 3s, direction: downstream}\n",
                   up);
    admin = http_admin_port(fw);
    port = fwp_port(fw, "t");
    CHECK_EQ(http_json(admin, "GET", "/proxies/nope/connections", NULL, NULL), 404);
    sk_pair(NULL, "127.0.0.1", port, lfd, &cfd, &sfd);
    getsockname(cfd, (struct sockaddr *)&ss, &sl);
    CHECK(inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr));
    snprintf(client, sizeof client, "%s:%u", addr, ntohs(((struct sockaddr_in *)&ss)->sin_port));

    /* established both ways, bytes both ways */
    CHECK_EQ(sk_write_pattern(cfd, 0, UP_BYTES, 5000), 0);
    r = sk_read_n(sfd, UP_BYTES, 5000);
    CHECK_UINT(r.bytes, ==, UP_BYTES);
    CHECK_EQ(sk_write_pattern(sfd, 0, DOWN_BYTES, 5000), 0);
    r = sk_read_n(cfd, DOWN_BYTES, 5000);
    CHECK_UINT(r.bytes, ==, DOWN_BYTES);
    c = wait_states("ESTABLISHED", "ESTABLISHED");
    CHECK_STR(sk_state_name(sk_tcp_state(cfd)), "ESTABLISHED");
    CHECK_STR(sk_state_name(sk_tcp_state(sfd)), "ESTABLISHED");
    CHECK_STR(json_string_value(json_object_get(c, "proxy")), "t");
    CHECK_EQ(json_integer_value(json_object_get(c, "id")), 1);
    CHECK_STR(json_string_value(json_object_get(c, "client")), client);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", up);
    CHECK_STR(json_string_value(json_object_get(c, "upstream")), addr);
    CHECK_EQ(bytes(c, "upstream"), UP_BYTES);
    CHECK_EQ(bytes(c, "downstream"), DOWN_BYTES);
    CHECK(!leg_flag(c, "client", "fin_received") && !leg_flag(c, "client", "fin_sent"));
    CHECK(json_is_integer(
        json_object_get(json_object_get(json_object_get(c, "legs"), "client"), "rtt_us")));
    CHECK_STR(fault_state(c), "armed");
    json_decref(c);
    /* the same object in the list of all proxies */
    CHECK_EQ(http_json(admin, "GET", "/connections", NULL, &a), 200);
    CHECK_EQ(json_array_size(a), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(a, 0), "client")), client);
    json_decref(a);

    /* the client half-closes: it sits in FIN_WAIT2, finwait's client leg in CLOSE_WAIT;
     * finwait relays the FIN: its server leg in FIN_WAIT2, the server in CLOSE_WAIT */
    sk_shut_wr(cfd);
    r = sk_read_until_end(sfd, 5000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_MSG(sk_wait_state(cfd, TCP_FIN_WAIT2, 5000), "client %s",
              sk_state_name(sk_tcp_state(cfd)));
    CHECK_MSG(sk_wait_state(sfd, TCP_CLOSE_WAIT, 5000), "server %s",
              sk_state_name(sk_tcp_state(sfd)));
    c = wait_states("CLOSE_WAIT", "FIN_WAIT2");
    CHECK_STR(sk_state_name(sk_tcp_state(cfd)), "FIN_WAIT2");
    CHECK_STR(sk_state_name(sk_tcp_state(sfd)), "CLOSE_WAIT");
    CHECK(leg_flag(c, "client", "fin_received") && !leg_flag(c, "client", "fin_sent"));
    CHECK(!leg_flag(c, "server", "fin_received") && leg_flag(c, "server", "fin_sent"));
    json_decref(c);
    check_timeline();

    /* the half-closed connection still carries the answer */
    CHECK_EQ(sk_write_pattern(sfd, 0, LATE_BYTES, 5000), 0);
    r = sk_read_n(cfd, LATE_BYTES, 5000);
    CHECK_UINT(r.bytes, ==, LATE_BYTES);

    /* the server closes: its FIN reaches finwait (server leg TIME_WAIT, the server's socket
     * done) and the fault holds it: the client still in FIN_WAIT2, finwait's leg CLOSE_WAIT */
    sk_shut_wr(sfd);
    c = wait_states("CLOSE_WAIT", "TIME_WAIT");
    CHECK_STR(sk_state_name(sk_tcp_state(cfd)), "FIN_WAIT2");
    CHECK_MSG(sk_wait_state(sfd, TCP_CLOSE, 5000), "server %s", sk_state_name(sk_tcp_state(sfd)));
    CHECK(leg_flag(c, "server", "fin_received") && leg_flag(c, "server", "fin_sent"));
    CHECK_EQ(bytes(c, "downstream"), DOWN_BYTES + LATE_BYTES);
    CHECK_STR(fault_state(c), "holding the server's FIN to the client");
    CHECK(sk_silent(cfd, 200));
    json_decref(c);

    /* released: the client gets EOF and the connection is over, gone from the list */
    r = sk_read_until_end(cfd, 10000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    /* (in TIME_WAIT: the kernel moved the connection to a socket of its own, the client's
     * own descriptor reads CLOSED) */
    CHECK_MSG(sk_wait_state(cfd, TCP_CLOSE, 5000), "client %s", sk_state_name(sk_tcp_state(cfd)));
    for (int64_t end = now_ms() + 5000;; poll(NULL, 0, 10)) {
        CHECK_EQ(http_json(admin, "GET", "/proxies/t/connections", NULL, &a), 200);
        if (json_array_size(a) == 0)
            break;
        CHECK_MSG(now_ms() < end, "still listed: %s", json_dumps(a, 0));
        json_decref(a);
    }
    json_decref(a);
    CHECK_EQ(http_json(admin, "GET", "/proxies/t/connections/1", NULL, NULL), 404);

    close(cfd);
    close(sfd);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("connection legs through a half-close match the peers' TCP states");
    return 0;
}
