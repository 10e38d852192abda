/* Toxiproxy's timeout on an open connection: added with timeout 0, nothing passes any more;
 * removed, the connection is closed (both peers read EOF), as Toxiproxy does. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0, admin, port;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fwp *fw = fwp_start("admin: {listen: '127.0.0.1:0'}\nproxies: []\n");
    struct sk_read r;
    int64_t t0;

    admin = http_admin_port(fw);
    port = http_create_proxy(admin, "db", up);
    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    CHECK_EQ(sk_write_all(s, "hello", 5, 1000), 0);
    CHECK_UINT(sk_read_n(c, 5, 2000).bytes, ==, 5);

    CHECK_EQ(http_json(admin, "POST", "/proxies/db/toxics",
                       "{\"type\":\"timeout\",\"attributes\":{\"timeout\":0}}", NULL),
             200);
    CHECK_EQ(sk_write_all(s, "answer", 6, 1000), 0);
    CHECK(sk_silent(c, 500));
    TEST_PASS("timeout 0 added: the open connection gets no reply");

    t0 = now_ms();
    CHECK_EQ(http_json(admin, "DELETE", "/proxies/db/toxics/timeout_downstream", NULL, NULL), 204);
    r = sk_read_until_end(c, 2000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, 0); /* what it dropped stays dropped */
    CHECK_INT(r.end_ms - t0, <, 1000);
    r = sk_read_until_end(s, 2000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    TEST_PASS("timeout removed: both peers get a FIN, as Toxiproxy closes the connection");

    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
