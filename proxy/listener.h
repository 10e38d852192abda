/* One proxy's listening socket: accepts clients and starts their connections. */
#ifndef FINWAIT_PROXY_LISTENER_H
#define FINWAIT_PROXY_LISTENER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "rules/config.h"
#include "rules/fault.h"

struct server;

struct listener {
    struct server *srv;
    const struct proxy_cfg *p;
    uv_tcp_t tcp;
    bool open;             /* tcp must be closed */
    bool marked;           /* carries the packet engine's mark (client-leg packet faults) */
    struct fault_rng rng;  /* fault decisions of this proxy's connections, in accept order */
    uint64_t next_id;      /* id of the next accepted connection */
    bool upstream_literal; /* upstream is an address: no resolution per connection */
    struct sockaddr_storage upstream_addr;
    char addr_text[80]; /* the bound address, "127.0.0.1:18080" */
};

/* Bind and listen. Returns 0, or a negative UV_E* code after logging one line that names the
 * proxy and the address. */
int listener_start(struct listener *l, struct server *srv, const struct proxy_cfg *p);
/* Stop accepting; `on_closed` runs once the handle is closed. */
void listener_stop(struct listener *l, uv_close_cb on_closed);

/* "127.0.0.1:80" or "[::1]:80". Returns buf. */
const char *sockaddr_text(const struct sockaddr *sa, char *buf, size_t len);

#endif
