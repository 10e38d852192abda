/* IPv6 on both legs: listen on [::1], upstream [::1]; half-close works as over IPv4. */
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("::1", &up), c, s;
    struct fwp *fw =
        fwp_start("proxies:\n  - {name: v6, listen: '[::1]:0', upstream: '[::1]:%u'}\n", up);
    struct sk_read r;

    c = sk_connect("::1", fwp_port(fw, "v6"), 5000);
    CHECK(c >= 0);
    s = sk_accept(lfd, 5000);
    CHECK(s >= 0);
    CHECK_EQ(sk_write_pattern(c, 0, 10000, 5000), 0);
    sk_shut_wr(c);
    r = sk_read_until_end(s, 5000, true, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, 10000);
    CHECK_EQ(sk_write_pattern(s, 0, 20000, 5000), 0);
    close(s);
    r = sk_read_until_end(c, 5000, true, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_UINT(r.bytes, ==, 20000);
    CHECK(r.pattern_ok);
    close(c);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("IPv6 half-close");
    return 0;
}
