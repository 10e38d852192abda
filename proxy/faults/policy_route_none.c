/* The TPROXY policy routing where libmnl is not available (it comes with the packet engine's
 * libraries): mode: tproxy is refused with a clear reason; REDIRECT needs none of it. */
#include <errno.h>
#include <stdio.h>

#include "proxy/faults/policy_route.h"

int policy_route_add(bool v6, uint32_t mark, uint32_t table, char *err, size_t errlen)
{
    (void)v6, (void)mark, (void)table;
    snprintf(err, errlen,
             "this build of finwait has no rtnetlink support for the routing rule of mode: "
             "tproxy (apt-get install libmnl-dev libnetfilter-queue-dev, then rebuild)");
    return -ENOTSUP;
}

int policy_route_del(bool v6, uint32_t mark, uint32_t table)
{
    (void)v6, (void)mark, (void)table;
    return 0;
}
