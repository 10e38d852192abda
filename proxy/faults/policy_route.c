#include "proxy/faults/policy_route.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Removing stops after this many rules: the kernel would refuse an endless loop anyway, but a
 * bug here must not hang finwait's exit. */
#define MAX_REMOVED 64

/* Send one request and read its acknowledgement: 0, or the kernel's negative errno. */
static int request(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    ssize_t n;
    int r;

    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = (uint32_t)time(NULL);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
        return -errno;
    n = mnl_socket_recvfrom(nl, buf, sizeof buf);
    if (n < 0)
        return -errno;
    r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL);
    return r < 0 ? -errno : 0;
}

static struct mnl_socket *open_rtnl(void)
{
    struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);

    if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno;
        mnl_socket_close(nl);
        errno = e;
        return NULL;
    }
    return nl;
}

/* `ip rule add|del fwmark MARK lookup TABLE` */
static int rule(struct mnl_socket *nl, bool add, bool v6, uint32_t mark, uint32_t table)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct fib_rule_hdr *frh;

    nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
    nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
    frh = mnl_nlmsg_put_extra_header(nlh, sizeof *frh);
    frh->family = v6 ? AF_INET6 : AF_INET;
    frh->action = FR_ACT_TO_TBL;
    frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC; /* larger ones: FRA_TABLE */
    mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
    mnl_attr_put_u32(nlh, FRA_TABLE, table);
    return request(nl, nlh);
}

/* `ip route replace|del local 0.0.0.0/0 dev lo table TABLE` (::/0 for IPv6) */
static int route(struct mnl_socket *nl, bool add, bool v6, uint32_t table)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct rtmsg *rtm;
    unsigned lo = if_nametoindex("lo");

    if (!lo)
        return -errno;
    nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
    nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_REPLACE : 0;
    rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
    rtm->rtm_family = v6 ? AF_INET6 : AF_INET;
    rtm->rtm_dst_len = 0; /* the default route of the table: every destination */
    rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_HOST;
    rtm->rtm_type = RTN_LOCAL; /* delivered to this host's sockets, whatever the address */
    mnl_attr_put_u32(nlh, RTA_TABLE, table);
    mnl_attr_put_u32(nlh, RTA_OIF, lo);
    return request(nl, nlh);
}

int policy_route_add(bool v6, uint32_t mark, uint32_t table, char *err, size_t errlen)
{
    struct mnl_socket *nl;
    int r;

    policy_route_del(v6, mark, table); /* one rule, even after a killed finwait */
    if (!(nl = open_rtnl())) {
        r = -errno;
        snprintf(err, errlen, "cannot open rtnetlink: %s", strerror(-r));
        return r;
    }
    if ((r = rule(nl, true, v6, mark, table)) < 0)
        snprintf(err, errlen, "the kernel refused the %s rule (fwmark 0x%x lookup %u): %s",
                 v6 ? "IPv6" : "IPv4", mark, table, strerror(-r));
    else if ((r = route(nl, true, v6, table)) < 0)
        snprintf(err, errlen, "the kernel refused the %s route (local %s dev lo table %u): %s",
                 v6 ? "IPv6" : "IPv4", v6 ? "::/0" : "0.0.0.0/0", table, strerror(-r));
    mnl_socket_close(nl);
    if (r < 0)
        policy_route_del(v6, mark, table);
    return r;
}

int policy_route_del(bool v6, uint32_t mark, uint32_t table)
{
    struct mnl_socket *nl = open_rtnl();
    int removed = 0;

    if (!nl)
        return -errno;
    while (removed < MAX_REMOVED && rule(nl, false, v6, mark, table) == 0)
        removed++;
    for (int i = 0; i < MAX_REMOVED && route(nl, false, v6, table) == 0; i++)
        ;
    mnl_socket_close(nl);
    return removed;
}
