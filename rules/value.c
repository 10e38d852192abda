/*
 * Values from their text. Integers are read digit by digit with an overflow check rather than
 * through strtod, whose doubles silently lose digits, accept hex and exponents, and whose
 * conversion back to an integer is undefined once the value no longer fits.
 */
#include "rules/value.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits from *s up to the first non-digit, into *out; -ERANGE past `max`. Advances *s. */
static int read_digits(const char **s, uint64_t max, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    bool range = false;

    if (!is_digit(*p))
        return -EINVAL;
    for (; is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (max - d) / 10)
            range = true; /* keep going: "12x" is malformed before it is too large */
        else
            v = v * 10 + d;
    }
    *s = p;
    *out = v;
    return range ? -ERANGE : 0;
}

int value_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v;
    int r = read_digits(&s, max, &v);

    if (r == -EINVAL || *s != '\0')
        return -EINVAL;
    if (r == 0)
        *out = v;
    return r;
}

int value_parse_duration_us(const char *s, uint64_t bare_unit_us, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t us;
    } units[] = {{"us", 1}, {"ms", 1000}, {"s", 1000000}, {"m", 60000000}, {"h", 3600000000ull}};
    uint64_t whole, frac = 0, frac_scale = 1, unit = 0, us;
    int range;

    /* the whole part, with no limit but the type's: "99999999999999999999" is too large, and
     * the unit is needed before saying by how much */
    range = read_digits(&s, UINT64_MAX, &whole);
    if (range == -EINVAL)
        return -EINVAL;
    if (*s == '.') {
        s++;
        if (!is_digit(*s))
            return -EINVAL;
        /* 18 digits are 3.6e-9 us of an hour: more change nothing after rounding */
        for (; is_digit(*s); s++)
            if (frac_scale < 1000000000000000000ull) {
                frac = frac * 10 + (uint64_t)(*s - '0');
                frac_scale *= 10;
            }
    }
    if (*s == '\0') {
        if (frac_scale != 1)
            return -EINVAL; /* "1.5": 1.5 what? */
        unit = bare_unit_us;
    } else {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcmp(s, units[i].suffix) == 0)
                unit = units[i].us;
        if (!unit)
            return -EINVAL;
    }
    if (range != 0 || whole > VALUE_DURATION_MAX_US / unit)
        return -ERANGE;
    /* frac < 10^18 and unit <= 3.6 * 10^9: the product fits in 128 bits */
    us = whole * unit + (uint64_t)(((unsigned __int128)frac * unit + frac_scale / 2) / frac_scale);
    if (us > VALUE_DURATION_MAX_US)
        return -ERANGE;
    *out = us;
    return 0;
}

int value_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "True", "TRUE", "Yes", "On"};
    static const char *const no[] = {"false", "no", "off", "False", "FALSE", "No", "Off"};

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

int value_parse_probability(const char *s, double *out)
{
    const char *p = s;
    char *end;
    double v;

    /* decimal notation only (the admin API's JSON may write 1e-05): strtod alone would also
     * take hex, "inf", "nan" and leading spaces */
    while (is_digit(*p))
        p++;
    if (*p == '.')
        p++;
    while (is_digit(*p))
        p++;
    if (p == s || (p == s + 1 && *s == '.'))
        return -EINVAL;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!is_digit(*p))
            return -EINVAL;
        while (is_digit(*p))
            p++;
    }
    if (*p != '\0')
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (end != p)
        return -EINVAL;
    if (!isfinite(v) || v > 1.0)
        return -ERANGE;
    *out = v; /* an underflow to 0 (1e-400) is the nearest value there is */
    return 0;
}

int value_parse_hostport(const char *s, unsigned flags, char **host, uint16_t *port)
{
    const char *colon, *h = s;
    size_t hlen;
    uint64_t p;
    int r;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        char tmp[64];
        struct in6_addr a6;

        if (!close || close[1] != ':')
            return -EINVAL;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
        if (hlen == 0 || hlen >= sizeof tmp)
            return -EINVAL;
        memcpy(tmp, h, hlen);
        tmp[hlen] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) != 1)
            return -EINVAL;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -EINVAL;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen))
            return -EINVAL; /* a bare IPv6 address needs brackets */
        if (hlen == 0 && !(flags & VALUE_ADDR_ANY_HOST))
            return -EINVAL;
        for (size_t i = 0; i < hlen; i++)
            if (!is_digit(s[i]) && !((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') && s[i] != '.' &&
                s[i] != '-' && s[i] != '_')
                return -EINVAL;
        /* digits and dots are an IPv4 address or nothing (no host is named 256.1.1.1) */
        if (hlen > 0 && strspn(s, "0123456789.") >= hlen) {
            char v4[16];
            struct in_addr a4;
            if (hlen >= sizeof v4)
                return -EINVAL;
            memcpy(v4, s, hlen);
            v4[hlen] = '\0';
            if (inet_pton(AF_INET, v4, &a4) != 1)
                return -EINVAL;
        }
    }
    r = value_parse_uint(colon + 1, 65535, &p);
    if (r != 0 || (p == 0 && !(flags & VALUE_ADDR_ZERO_PORT)))
        return -ERANGE; /* "x:http", "x:", "x:99999", "x:0": all about the port */
    *host = strndup(h, hlen);
    if (!*host)
        return -ENOMEM;
    *port = (uint16_t)p;
    return 0;
}

int value_parse_cidr(const char *s, struct cidr *out)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    uint64_t bits;

    if (alen >= sizeof addr)
        return -EINVAL;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, addr, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, addr, out->addr) == 1)
        out->family = AF_INET6;
    else
        return -EINVAL;
    bits = out->family == AF_INET ? 32 : 128;
    if (slash) {
        int r = value_parse_uint(slash + 1, bits, &bits);
        if (r != 0)
            return r;
    }
    out->prefixlen = (unsigned)bits;
    return 0;
}

/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: only this machine reaches the API there. */
bool value_host_is_loopback(const char *host)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) != 1)
        return false;
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char one[16] = {[15] = 1};
    return memcmp(a, one, 16) == 0 || (memcmp(a, v4mapped, 12) == 0 && a[12] == 127);
}

const char *duration_format(uint64_t ms, char *buf, size_t len)
{
    if (ms == DURATION_FOREVER)
        snprintf(buf, len, "forever");
    else if (ms >= 60000 && ms % 60000 == 0)
        snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
    else if (ms >= 1000 && ms % 1000 == 0)
        snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
    else
        snprintf(buf, len, "%llums", (unsigned long long)ms);
    return buf;
}
