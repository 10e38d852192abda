/* limit_data (or after_bytes) with a blackhole or timeout dropping the same stream: the bytes
 * that reach the limit are dropped like every other, and only the end passes. Found by the
 * soak: the chunk that reached the limit skipped the drop, so the server read the tail of the
 * client's stream without its head. */
#include "check.h"
#include "pair.h"
#include "sock.h"

static void check(const char *faults)
{
    struct pair p;
    struct sk_read r;

    pair_start(&p, faults, "");
    pair_connect(&p, true);
    CHECK_EQ(sk_write_pattern(p.c, 0, 300000, 5000), 0);
    r = sk_read_until_end(p.s, 5000, false, 0);
    CHECK_MSG(r.bytes == 0, "%s: the server read %llu bytes of a stream that was dropped", faults,
              (unsigned long long)r.bytes);
    CHECK_STR(sk_end_name(r.end), "EOF");
    pair_stop(&p);
    TEST_PASS(faults);
}

int main(void)
{
    check("[{type: limit_data, stream: upstream, bytes: 100000}, {type: timeout, stream: "
          "upstream, timeout: 0}]");
    check("[{type: limit_data, stream: upstream, bytes: 100000}, {type: blackhole, direction: "
          "upstream, after: 0}]");
    check("[{type: close, direction: upstream, after_bytes: 70000}, {type: blackhole, direction: "
          "upstream, after: 0}, {type: latency, stream: upstream, latency: 5}]");
    return 0;
}
