/* rst_instead_of_fin: the server reads every byte the client sent, then ECONNRESET where the
 * FIN would have been; the client then gets a FIN. */
#include "check.h"
#include "pair.h"
#include "sock.h"

int main(void)
{
    struct pair p;
    struct sk_read r;

    pair_start(&p, "[{type: rst_instead_of_fin, direction: upstream}]", "");
    pair_connect(&p, true);
    CHECK_EQ(sk_write_pattern(p.c, 0, 200000, 2000), 0);
    sk_shut_wr(p.c);
    r = sk_read_until_end(p.s, 5000, true, 0);
    CHECK_UINT(r.bytes, ==, 200000);
    CHECK(r.pattern_ok);
    CHECK_STR(sk_end_name(r.end), "ECONNRESET");
    r = sk_read_until_end(p.c, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    pair_stop(&p);
    TEST_PASS("rst_instead_of_fin: data, then RST to the server; FIN to the client");
    return 0;
}
