/* GET /connections says how long a connection has been quiet and how long each leg has been in
 * its state: idle_ms (since the last byte either way), per leg state_age_ms (since its last
 * transition: established, FIN received, FIN sent), fin_received_age_ms and fin_sent_age_ms
 * (null until that FIN). Each is checked against bounds the test measures on its own clock
 * around the moments it caused: finwait's number must lie between them. */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

static uint16_t admin;

/* The proxy's one connection, and the test's clock just before and after asking. */
static json_t *the_conn(int64_t *before, int64_t *after)
{
    json_t *a = NULL, *c;

    *before = now_ms();
    CHECK_EQ(http_json(admin, "GET", "/proxies/i/connections", NULL, &a), 200);
    *after = now_ms();
    CHECK_MSG(json_is_array(a) && json_array_size(a) == 1, "connections: %s",
              a ? json_dumps(a, 0) : "(none)");
    c = json_incref(json_array_get(a, 0));
    json_decref(a);
    return c;
}

static json_t *leg_get(json_t *c, const char *leg, const char *key)
{
    return json_object_get(json_object_get(json_object_get(c, "legs"), leg), key);
}

static json_int_t num(json_t *v)
{
    CHECK_MSG(json_is_integer(v), "not an integer: %s", v ? json_dumps(v, JSON_ENCODE_ANY) : "");
    return json_integer_value(v);
}

/* An age that began between the test's `from` and `to` (its own clock), read between `before`
 * and `after`: it lies in [before - to, after - from], give or take 2 ms: both clocks are
 * truncated to whole milliseconds. */
static void check_age(json_t *v, int64_t from, int64_t to, int64_t before, int64_t after,
                      const char *what)
{
    json_int_t ms = num(v);

    fprintf(stderr, "%s: %lld ms (bounds %lld..%lld)\n", what, (long long)ms,
            (long long)(before - to - 2), (long long)(after - from + 2));
    CHECK_INT(ms, >=, before - to - 2);
    CHECK_INT(ms, <=, after - from + 2);
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                               "proxies:\n  - {name: i, listen: 127.0.0.1:0, upstream: "
                               "127.0.0.1:%u}\n",
                               up);
    int64_t t_conn0, t_conn1, t_byte0, t_byte1, t_fin0, t_fin1, before, after;
    json_t *j;

    admin = http_admin_port(fw);
    t_conn0 = now_ms();
    sk_pair(NULL, "127.0.0.1", fwp_port(fw, "i"), lfd, &c, &s);
    t_conn1 = now_ms();

    /* a byte upstream, then quiet */
    t_byte0 = now_ms();
    CHECK_EQ(sk_write_all(c, "0123456789", 10, 1000), 0);
    CHECK_UINT(sk_read_n(s, 10, 2000).bytes, ==, 10);
    t_byte1 = now_ms();
    poll(NULL, 0, 300);
    j = the_conn(&before, &after);
    check_age(json_object_get(j, "idle_ms"), t_byte0, t_byte1, before, after, "idle_ms");
    CHECK_INT(num(json_object_get(j, "idle_ms")), >=, 290);
    check_age(leg_get(j, "client", "state_age_ms"), t_conn0, t_conn1, before, after,
              "client state_age_ms");
    check_age(leg_get(j, "server", "state_age_ms"), t_conn0, t_conn1, before, after,
              "server state_age_ms");
    CHECK(json_is_null(leg_get(j, "client", "fin_received_age_ms")));
    CHECK(json_is_null(leg_get(j, "server", "fin_sent_age_ms")));
    json_decref(j);

    /* the client's FIN: the client leg's state changes, the server leg's FIN is sent; no byte */
    t_fin0 = now_ms();
    sk_shut_wr(c);
    CHECK_STR(sk_end_name(sk_read_until_end(s, 2000, false, 0).end), "EOF");
    t_fin1 = now_ms();
    poll(NULL, 0, 200);
    j = the_conn(&before, &after);
    check_age(leg_get(j, "client", "fin_received_age_ms"), t_fin0, t_fin1, before, after,
              "client fin_received_age_ms");
    check_age(leg_get(j, "client", "state_age_ms"), t_fin0, t_fin1, before, after,
              "client state_age_ms");
    check_age(leg_get(j, "server", "fin_sent_age_ms"), t_fin0, t_fin1, before, after,
              "server fin_sent_age_ms");
    check_age(leg_get(j, "server", "state_age_ms"), t_fin0, t_fin1, before, after,
              "server state_age_ms");
    CHECK(json_is_null(leg_get(j, "client", "fin_sent_age_ms")));
    CHECK(json_is_null(leg_get(j, "server", "fin_received_age_ms")));
    /* a FIN is not a byte: still quiet since the 10 bytes */
    check_age(json_object_get(j, "idle_ms"), t_byte0, t_byte1, before, after, "idle_ms");
    json_decref(j);

    /* an answer downstream: no longer idle */
    t_byte0 = now_ms();
    CHECK_EQ(sk_write_all(s, "answer", 6, 1000), 0);
    CHECK_UINT(sk_read_n(c, 6, 2000).bytes, ==, 6);
    t_byte1 = now_ms();
    j = the_conn(&before, &after);
    check_age(json_object_get(j, "idle_ms"), t_byte0, t_byte1, before, after, "idle_ms");
    json_decref(j);

    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("/connections: idle_ms and each leg's state and FIN ages, within measured bounds");
    return 0;
}
