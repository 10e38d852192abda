#include "rules/fault.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fault_rng_seed(struct fault_rng *rng, uint64_t seed, const char *proxy_name)
{
    /* FNV-1a of the name, so proxies draw from different sequences of one seed */
    uint64_t h = 0xcbf29ce484222325ull;

    for (const unsigned char *p = (const unsigned char *)proxy_name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    seed ^= h;
    rng->s[0] = splitmix64(&seed);
    rng->s[1] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoroshiro128+ */
static uint64_t next64(struct fault_rng *rng)
{
    uint64_t s0 = rng->s[0], s1 = rng->s[1];
    uint64_t r = s0 + s1;

    s1 ^= s0;
    rng->s[0] = rotl(s0, 24) ^ s1 ^ (s1 << 16);
    rng->s[1] = rotl(s1, 37);
    return r;
}

double fault_rng_next(struct fault_rng *rng)
{
    return (double)(next64(rng) >> 11) * 0x1.0p-53;
}

uint64_t fault_rng_below(struct fault_rng *rng, uint64_t n)
{
    return n ? next64(rng) % n : 0;
}

bool cidr_contains(const struct cidr *net, const struct sockaddr *addr)
{
    const uint8_t *a;
    unsigned bits = net->prefixlen;
    int family = addr->sa_family;

    if (family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
    } else if (family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        a = in6->s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(in6)) {
            a += 12;
            family = AF_INET;
        }
    } else {
        return false;
    }
    if (family != net->family)
        return false;
    for (unsigned i = 0; bits > 0; i++, bits = bits > 8 ? bits - 8 : 0) {
        uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        if ((a[i] & mask) != (net->addr[i] & mask))
            return false;
    }
    return true;
}

bool fault_decide_one_at(const struct fault *f, struct fault_rng *rng,
                         const struct sockaddr *client, const struct sockaddr *dest,
                         struct fault_decision *why)
{
    struct fault_decision d;

    d.draw = fault_rng_next(rng); /* drawn whatever the outcome: see fault.h */
    d.drawn = d.draw < f->probability;
    /* the match is looked at even when the draw said no, so that the reason names both */
    d.matched = (!f->has_match || cidr_contains(&f->match_client, client)) &&
                (!f->has_match_dest || (dest && cidr_contains(&f->match_dest, dest)));
    if (why)
        *why = d;
    return fault_decision_applies(&d);
}

bool fault_decide_one_why(const struct fault *f, struct fault_rng *rng,
                          const struct sockaddr *client, struct fault_decision *why)
{
    return fault_decide_one_at(f, rng, client, NULL, why);
}

bool fault_decide_one(const struct fault *f, struct fault_rng *rng, const struct sockaddr *client)
{
    return fault_decide_one_at(f, rng, client, NULL, NULL);
}

uint64_t fault_decide_at(const struct proxy_cfg *p, struct fault_rng *rng,
                         const struct sockaddr *client, const struct sockaddr *dest,
                         struct fault_decision *why)
{
    uint64_t mask = 0;

    for (size_t i = 0; i < p->nfaults && i < FAULTS_MAX; i++)
        if (fault_decide_one_at(&p->faults[i], rng, client, dest, why ? &why[i] : NULL))
            mask |= 1ull << i;
    return mask;
}

uint64_t fault_decide_why(const struct proxy_cfg *p, struct fault_rng *rng,
                          const struct sockaddr *client, struct fault_decision *why)
{
    return fault_decide_at(p, rng, client, NULL, why);
}

uint64_t fault_decide(const struct proxy_cfg *p, struct fault_rng *rng,
                      const struct sockaddr *client)
{
    return fault_decide_at(p, rng, client, NULL, NULL);
}

/* The host part of a client address as people write it ("127.0.0.1", "::1"). */
static const char *addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
    const void *a = NULL;

    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
        snprintf(buf, len, "(unknown address)");
    return buf;
}

const char *fault_decision_text_at(const struct fault *f, const struct fault_decision *d,
                                   const struct sockaddr *client, const struct sockaddr *dest,
                                   char *buf, size_t len)
{
    char who[INET6_ADDRSTRLEN + 20], net[INET6_ADDRSTRLEN];
    size_t n = 0;
    int r;

    if (!len)
        return buf;
    buf[0] = '\0';
    if (!d->matched && f->has_match && !cidr_contains(&f->match_client, client)) {
        if (!inet_ntop(f->match_client.family, f->match_client.addr, net, sizeof net))
            snprintf(net, sizeof net, "?");
        r = snprintf(buf, len, "match: client %s is not in %s/%u",
                     addr_text(client, who, sizeof who), net, f->match_client.prefixlen);
        n = r < 0 ? 0 : (size_t)r < len ? (size_t)r : len - 1;
    }
    if (!d->matched && f->has_match_dest && !(dest && cidr_contains(&f->match_dest, dest)) &&
        n < len) {
        if (!inet_ntop(f->match_dest.family, f->match_dest.addr, net, sizeof net))
            snprintf(net, sizeof net, "?");
        if (dest)
            r = snprintf(buf + n, len - n, "%smatch: destination %s is not in %s/%u", n ? "; " : "",
                         addr_text(dest, who, sizeof who), net, f->match_dest.prefixlen);
        else
            r = snprintf(buf + n, len - n, "%smatch: the connection was not intercepted",
                         n ? "; " : "");
        n += r < 0 ? 0 : (size_t)r < len - n ? (size_t)r : len - n - 1;
    }
    if (!d->drawn && n < len)
        snprintf(buf + n, len - n, "%sprobability %g: drew %.6f%s", n ? "; " : "", f->probability,
                 d->draw, f->probability <= 0 ? " (never applies)" : "");
    return buf;
}

const char *fault_decision_text(const struct fault *f, const struct fault_decision *d,
                                const struct sockaddr *client, char *buf, size_t len)
{
    return fault_decision_text_at(f, d, client, NULL, buf, len);
}
