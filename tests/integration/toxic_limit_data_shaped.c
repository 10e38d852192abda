/* limit_data (or a reset/close after_bytes) together with a shaping fault on the same stream:
 * the bytes within the limit arrive in order and complete, the end follows them. The bytes
 * that reached the limit once skipped the shaping queue: written at once, ahead of the
 * earlier bytes still delayed there, which the FIN then cut off. */
#include <poll.h>

#include "check.h"
#include "pair.h"
#include "sock.h"

static void limit_behind(const char *faults, const char *what)
{
    struct pair p;
    struct sk_read r;

    pair_start(&p, faults, "");
    pair_connect(&p, true);
    /* 1000 bytes go into the shaping queue, then a chunk that crosses the 3000-byte limit */
    CHECK_EQ(sk_write_pattern(p.s, 0, 1000, 1000), 0);
    poll(NULL, 0, 50); /* two reads, not one: a gap, not synchronisation */
    CHECK_EQ(sk_write_pattern(p.s, 1000, 5000, 1000), 0);
    r = sk_read_until_end(p.c, 5000, true, 0);
    CHECK_MSG(r.pattern_ok, "%s: bytes out of order", what);
    CHECK_UINT(r.bytes, ==, 3000);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_STR(sk_end_name(sk_read_until_end(p.s, 3000, false, 0).end), "EOF");
    pair_stop(&p);
    TEST_PASS(what);
}

int main(void)
{
    limit_behind("[{type: latency, latency: 200}, {type: limit_data, bytes: 3000}]",
                 "latency then limit_data: 3000 bytes in order, then EOF");
    limit_behind("[{type: limit_data, bytes: 3000}, {type: bandwidth, rate: 20}]",
                 "limit_data then bandwidth: 3000 bytes in order, then EOF");
    limit_behind("[{type: slicer, average_size: 300, size_variation: 100, delay: 20000}, "
                 "{type: close, after_bytes: 3000, direction: downstream}]",
                 "slicer then close after 3000 bytes: in order, then EOF");
    return 0;
}
