/* GET /events: a connection's accept, FINs and close reach every subscriber within a bound,
 * while the log itself stays quiet (log.level: error); ?proxy= filters, ?level=debug adds the
 * debug lines; bad arguments are refused; SIGTERM ends every stream with its last chunk. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "evstream.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

/* Generous: the machine is shared; an event is delivered in well under a millisecond. */
#define DELIVERY_MS 2000

/* One proxied connection closed from both sides, client first. */
static void half_close_both(uint16_t port, int lfd)
{
    int c, s;

    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    sk_shut_wr(c);
    CHECK_STR(sk_end_name(sk_read_until_end(s, 3000, false, 0).end), "EOF");
    sk_shut_wr(s);
    CHECK_STR(sk_end_name(sk_read_until_end(c, 3000, false, 0).end), "EOF");
    close(c);
    close(s);
}

int main(void)
{
    uint16_t up = 0, admin, pa, pb;
    int lfd = sk_listen("127.0.0.1", &up), c, s, rc;
    struct fwp *fw = fwp_start("log: {level: error}\n"
                               "admin: {listen: 127.0.0.1:0}\n"
                               "proxies:\n"
                               "  - {name: a, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                               "  - {name: b, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                               up, up);
    struct ev_sub *all, *sa, *sb, *sd;
    struct ev_curl *curl;
    int64_t t0, dt;
    char *log, *body;

    admin = http_admin_port(fw);
    pa = fwp_port(fw, "a");
    pb = fwp_port(fw, "b");

    CHECK_EQ(http_json(admin, "GET", "/events?proxy=nope", NULL, NULL), 404);
    CHECK_EQ(http_json(admin, "GET", "/events?level=verbose", NULL, NULL), 400);
    CHECK_EQ(http_json(admin, "POST", "/events", NULL, NULL), 405);
    TEST_PASS("unknown proxy, unknown level and POST are refused");

    curl = ev_curl_start(admin, "", 30000);
    all = ev_subscribe(admin, "", 0);
    sa = ev_subscribe(admin, "?proxy=a", 0);
    sb = ev_subscribe(admin, "?proxy=b", 0);
    sd = ev_subscribe(admin, "?proxy=a&level=debug", 0);

    t0 = now_ms();
    sk_pair(NULL, "127.0.0.1", pa, lfd, &c, &s);
    CHECK_MSG(ev_wait(all, "\"event\":\"accepted\",\"proxy\":\"a\",\"conn\":1,", DELIVERY_MS), "%s",
              all->buf ? all->buf : "(nothing)");
    CHECK(ev_wait(sa, "\"event\":\"accepted\",\"proxy\":\"a\",\"conn\":1,", DELIVERY_MS));
    dt = now_ms() - t0;
    CHECK_INT(dt, <, DELIVERY_MS);
    TEST_PASS("a new connection's accept reaches two subscribers");
    fprintf(stderr, "accept delivered in %lld ms\n", (long long)dt);

    sk_shut_wr(c);
    CHECK_STR(sk_end_name(sk_read_until_end(s, 3000, false, 0).end), "EOF");
    CHECK(ev_wait(sa,
                  "\"event\":\"fin_received\",\"proxy\":\"a\",\"conn\":1,\"t_ms\":", DELIVERY_MS));
    CHECK(ev_wait(sa, "\"leg\":\"client\",\"state\":\"CLOSE_WAIT\"", DELIVERY_MS));
    CHECK(ev_wait(sa, "\"event\":\"fin_sent\",\"proxy\":\"a\",\"conn\":1,", DELIVERY_MS));
    sk_shut_wr(s);
    CHECK_STR(sk_end_name(sk_read_until_end(c, 3000, false, 0).end), "EOF");
    close(c);
    close(s);
    CHECK(ev_wait(sa, "\"event\":\"closed\",\"proxy\":\"a\",\"conn\":1,", DELIVERY_MS));
    CHECK(ev_wait(all, "\"event\":\"closed\",\"proxy\":\"a\",\"conn\":1,", DELIVERY_MS));
    TEST_PASS("the FINs and the close follow");

    /* ?proxy=b saw none of a's events (a's close came after them all, and b's is next) */
    half_close_both(pb, lfd);
    CHECK(ev_wait(sb, "\"event\":\"closed\",\"proxy\":\"b\",\"conn\":1,", DELIVERY_MS));
    CHECK(ev_wait(all, "\"event\":\"closed\",\"proxy\":\"b\",\"conn\":1,", DELIVERY_MS));
    CHECK_CONTAINS(sb->buf, "\"event\":\"accepted\",\"proxy\":\"b\"");
    CHECK(!strstr(sb->buf, "\"proxy\":\"a\""));
    ev_read_for(sa, 100);
    CHECK(!strstr(sa->buf, "\"proxy\":\"b\""));
    TEST_PASS("?proxy= gets that proxy's events only");

    /* level=debug: the upstream connect attempt, which the info streams do not carry */
    CHECK(ev_wait(sd, "\"level\":\"debug\",\"event\":\"connect_attempt\",\"proxy\":\"a\"",
                  DELIVERY_MS));
    CHECK(ev_wait(sd, "\"event\":\"closed\",\"proxy\":\"a\"", DELIVERY_MS));
    CHECK(!strstr(sa->buf, "\"level\":\"debug\""));
    CHECK(!strstr(all->buf, "\"level\":\"debug\""));
    TEST_PASS("?level=debug adds the debug lines");

    /* the log itself said nothing of it: the streams do not depend on log.level */
    log = fwp_log(fw);
    CHECK(!strstr(log, "accepted"));
    CHECK(!strstr(log, "connect_attempt"));
    free(log);
    TEST_PASS("the log stays quiet at log.level error");

    /* SIGTERM: every stream ends with the last chunk, a clean end of the response */
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    CHECK_STR(sk_end_name(ev_wait_end(all, 3000)), "EOF");
    CHECK_STR(sk_end_name(ev_wait_end(sa, 3000)), "EOF");
    CHECK_MSG(all->len >= 5 && strcmp(all->buf + all->len - 5, "0\r\n\r\n") == 0,
              "no last chunk: ...%s", all->buf + (all->len > 40 ? all->len - 40 : 0));
    body = ev_curl_finish(curl, &rc);
    CHECK_EQ(rc, 0); /* CURLE_OK: the chunked body ended properly */
    CHECK_CONTAINS(body, "\"event\":\"closed\",\"proxy\":\"b\",\"conn\":1,");
    CHECK_CONTAINS(body, "\"event\":\"signal\"");
    free(body);
    TEST_PASS("SIGTERM ends every stream cleanly");

    ev_close(all);
    ev_close(sa);
    ev_close(sb);
    ev_close(sd);
    close(lfd);
    return 0;
}
