#include "proxy/relay/intercept.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <uv.h>

/* linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h clash with glibc's netinet/in.h:
 * the two values, from the kernel's ABI. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static const unsigned char v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* An IPv4-mapped IPv6 address as IPv4, in place; anything else is left as it is. */
static void unmap(struct sockaddr_storage *ss)
{
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    struct sockaddr_in in = {.sin_family = AF_INET};

    if (ss->ss_family != AF_INET6 || memcmp(in6->sin6_addr.s6_addr, v4mapped_prefix, 12) != 0)
        return;
    in.sin_port = in6->sin6_port;
    memcpy(&in.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
    memset(ss, 0, sizeof *ss);
    memcpy(ss, &in, sizeof in);
}

int intercept_original_dst(int fd, enum intercept_mode mode, struct sockaddr_storage *out)
{
    struct sockaddr_storage local;
    socklen_t len = sizeof local;

    memset(out, 0, sizeof *out);
    if (getsockname(fd, (struct sockaddr *)&local, &len) != 0)
        return -errno;
    unmap(&local);
    if (mode == INTERCEPT_TPROXY) {
        *out = local; /* TPROXY delivers the connection with its destination unchanged */
        return 0;
    }
    /* conntrack's original tuple: an IPv4 flow is asked at the IPv4 level, also when the
     * listener is a dual-stack IPv6 socket (the kernel keeps the IPv4 addresses of the
     * socket for that) */
    len = sizeof *out;
    if (local.ss_family == AF_INET) {
        if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, out, &len) != 0)
            return -errno;
    } else if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, out, &len) != 0) {
        return -errno;
    }
    unmap(out);
    return 0;
}

bool intercept_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    struct sockaddr_storage x = {0}, y = {0};

    memcpy(&x, a,
           a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    memcpy(&y, b,
           b->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    unmap(&x);
    unmap(&y);
    if (x.ss_family != y.ss_family)
        return false;
    if (x.ss_family == AF_INET) {
        const struct sockaddr_in *p = (const void *)&x, *q = (const void *)&y;
        return p->sin_port == q->sin_port && p->sin_addr.s_addr == q->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *p = (const void *)&x, *q = (const void *)&y;
    return p->sin6_port == q->sin6_port &&
           memcmp(&p->sin6_addr, &q->sin6_addr, sizeof p->sin6_addr) == 0;
}

int intercept_prepare_upstream(int fd, uint32_t mark, bool transparent,
                               const struct sockaddr *client)
{
    struct sockaddr_storage src = {0}, self;
    socklen_t len = sizeof self;
    int one = 1;

    if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0)
        return -errno;
    if (!transparent)
        return 0;
    if (getsockname(fd, (struct sockaddr *)&self, &len) != 0)
        return -errno;
    memcpy(&src, client,
           client->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                         : sizeof(struct sockaddr_in));
    unmap(&src);
    if (src.ss_family != self.ss_family)
        return UV_EAFNOSUPPORT; /* a client of one family to a server of the other */
    if (src.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&src)->sin6_port = 0;
    else
        ((struct sockaddr_in *)&src)->sin_port = 0;
    if (setsockopt(fd, src.ss_family == AF_INET6 ? SOL_IPV6 : SOL_IP,
                   src.ss_family == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one,
                   sizeof one) != 0)
        return -errno;
    /* the port is chosen at connect, for this 4-tuple: the client's own port may be in use */
    setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&src,
             src.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in)) != 0)
        return -errno;
    return 0;
}

int intercept_listen_transparent(int fd, int family)
{
    int one = 1;

    if (setsockopt(fd, family == AF_INET6 ? SOL_IPV6 : SOL_IP,
                   family == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof one) != 0)
        return -errno;
    return 0;
}
