/* The value parsers on their own: what each accepts, what it refuses as malformed (-EINVAL)
 * and what as too large (-ERANGE), at the exact edges of each range. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "check.h"
#include "rules/value.h"

static uint64_t dur(const char *s, uint64_t bare)
{
    uint64_t us = 12345;
    int r = value_parse_duration_us(s, bare, &us);
    CHECK_MSG(r == 0, "'%s': %d", s, r);
    return us;
}

static int dur_err(const char *s)
{
    uint64_t us = 12345;
    int r = value_parse_duration_us(s, 1000, &us);
    CHECK_MSG(us == 12345, "'%s' wrote %llu on failure", s, (unsigned long long)us);
    return r;
}

int main(void)
{
    uint64_t u = 7;
    double p;
    bool b;
    char *host;
    uint16_t port;
    struct cidr net;

    CHECK_UINT(dur("250ms", 1000), ==, 250000);
    CHECK_UINT(dur("250", 1000), ==, 250000);
    CHECK_UINT(dur("250", 1), ==, 250);
    CHECK_UINT(dur("1500us", 1000), ==, 1500);
    CHECK_UINT(dur("1.5s", 1000), ==, 1500000);
    CHECK_UINT(dur("0.0000005s", 1000), ==, 1); /* half a microsecond rounds up */
    CHECK_UINT(dur("2m", 1000), ==, 120000000);
    CHECK_UINT(dur("1h", 1000), ==, 3600000000ull);
    CHECK_UINT(dur("0", 1000), ==, 0);
    CHECK_UINT(dur("8760h", 1000), ==, VALUE_DURATION_MAX_US);
    CHECK_UINT(dur("525600m", 1000), ==, VALUE_DURATION_MAX_US);
    CHECK_UINT(dur("31536000000", 1000), ==, VALUE_DURATION_MAX_US);
    CHECK_UINT(dur("31536000000000", 1), ==, VALUE_DURATION_MAX_US);
    CHECK_UINT(dur("8759.999999999999h", 1000), ==, VALUE_DURATION_MAX_US);
    TEST_PASS("durations: units, fractions, the largest");

    CHECK_EQ(dur_err("8760.0000001h"), -ERANGE);
    CHECK_EQ(dur_err("8761h"), -ERANGE);
    CHECK_EQ(dur_err("31536000001"), -ERANGE);
    CHECK_EQ(dur_err("99999999999999999999"), -ERANGE);
    CHECK_EQ(dur_err("18446744073709552"), -ERANGE);
    CHECK_EQ(dur_err("18446744073709551616us"), -ERANGE);
    CHECK_EQ(dur_err("5124095576030431h"), -ERANGE); /* wraps to a small value times 3.6e9 */
    CHECK_EQ(dur_err(""), -EINVAL);
    CHECK_EQ(dur_err("ms"), -EINVAL);
    CHECK_EQ(dur_err("-1s"), -EINVAL);
    CHECK_EQ(dur_err("+1s"), -EINVAL);
    CHECK_EQ(dur_err(" 1s"), -EINVAL);
    CHECK_EQ(dur_err("1s "), -EINVAL);
    CHECK_EQ(dur_err("1.5"), -EINVAL);
    CHECK_EQ(dur_err("1."), -EINVAL);
    CHECK_EQ(dur_err("1.s"), -EINVAL);
    CHECK_EQ(dur_err(".5s"), -EINVAL);
    CHECK_EQ(dur_err("1e3ms"), -EINVAL);
    CHECK_EQ(dur_err("0x10ms"), -EINVAL);
    CHECK_EQ(dur_err("1sec"), -EINVAL);
    CHECK_EQ(dur_err("1d"), -EINVAL);
    CHECK_EQ(dur_err("99999999999999999999x"), -EINVAL); /* malformed before too large */
    TEST_PASS("durations: too large and malformed, nothing written");

    CHECK_EQ(value_parse_uint("18446744073709551615", UINT64_MAX, &u), 0);
    CHECK_UINT(u, ==, UINT64_MAX);
    CHECK_EQ(value_parse_uint("18446744073709551616", UINT64_MAX, &u), -ERANGE);
    CHECK_EQ(value_parse_uint("99999999999999999999999", UINT64_MAX, &u), -ERANGE);
    CHECK_EQ(value_parse_uint("1000", 1000, &u), 0);
    CHECK_UINT(u, ==, 1000);
    CHECK_EQ(value_parse_uint("1001", 1000, &u), -ERANGE);
    CHECK_EQ(value_parse_uint("0", 1000, &u), 0);
    CHECK_UINT(u, ==, 0);
    CHECK_EQ(value_parse_uint("", 10, &u), -EINVAL);
    CHECK_EQ(value_parse_uint("-1", 10, &u), -EINVAL);
    CHECK_EQ(value_parse_uint("1.0", 10, &u), -EINVAL);
    CHECK_EQ(value_parse_uint("0x1", 10, &u), -EINVAL);
    CHECK_EQ(value_parse_uint(" 1", 10, &u), -EINVAL);
    TEST_PASS("integers: the exact edge of max");

    CHECK_EQ(value_parse_probability("0.25", &p), 0);
    CHECK_DBL(p, ==, 0.25);
    CHECK_EQ(value_parse_probability("1e-05", &p), 0); /* as jansson writes it */
    CHECK_DBL(p, ==, 1e-05);
    CHECK_EQ(value_parse_probability("1", &p), 0);
    CHECK_EQ(value_parse_probability("1.0000001", &p), -ERANGE);
    CHECK_EQ(value_parse_probability("1e400", &p), -ERANGE);
    CHECK_EQ(value_parse_probability("nan", &p), -EINVAL);
    CHECK_EQ(value_parse_probability("inf", &p), -EINVAL);
    CHECK_EQ(value_parse_probability("0x0.8", &p), -EINVAL);
    CHECK_EQ(value_parse_probability("-0", &p), -EINVAL);
    CHECK_EQ(value_parse_probability(".", &p), -EINVAL);
    CHECK_EQ(value_parse_probability("1e", &p), -EINVAL);
    CHECK_EQ(value_parse_bool("yes", &b), 0);
    CHECK(b);
    CHECK_EQ(value_parse_bool("Off", &b), 0);
    CHECK(!b);
    CHECK_EQ(value_parse_bool("y", &b), -EINVAL);
    TEST_PASS("probabilities and booleans");

    CHECK_EQ(value_parse_hostport("[::1]:80", 0, &host, &port), 0);
    CHECK_STR(host, "::1");
    CHECK_EQ(port, 80);
    free(host);
    CHECK_EQ(value_parse_hostport(":0", VALUE_ADDR_ANY_HOST | VALUE_ADDR_ZERO_PORT, &host, &port),
             0);
    CHECK_STR(host, "");
    free(host);
    CHECK_EQ(value_parse_hostport(":80", 0, &host, &port), -EINVAL);
    CHECK_EQ(value_parse_hostport("x:0", 0, &host, &port), -ERANGE);
    CHECK_EQ(value_parse_hostport("x:65536", 0, &host, &port), -ERANGE);
    CHECK_EQ(value_parse_hostport("x:18446744073709551697", 0, &host, &port), -ERANGE);
    CHECK_EQ(value_parse_hostport("::1:80", 0, &host, &port), -EINVAL);
    CHECK_EQ(value_parse_hostport("[::1]80", 0, &host, &port), -EINVAL);
    CHECK_EQ(value_parse_hostport("a b:80", 0, &host, &port), -EINVAL);
    CHECK_EQ(value_parse_cidr("10.0.0.0/8", &net), 0);
    CHECK_EQ(net.family, AF_INET);
    CHECK_EQ(net.prefixlen, 8);
    CHECK_EQ(value_parse_cidr("fd00::", &net), 0);
    CHECK_EQ(net.prefixlen, 128);
    CHECK_EQ(value_parse_cidr("10.0.0.0/33", &net), -ERANGE);
    CHECK_EQ(value_parse_cidr("10.0.0.0/4294967304", &net), -ERANGE); /* 2^32 + 8 */
    CHECK_EQ(value_parse_cidr("10.0.0.0/", &net), -EINVAL);
    CHECK_EQ(value_parse_cidr("10.0.0.0/-1", &net), -EINVAL);
    TEST_PASS("addresses and networks");
    return 0;
}
