/*
 * Upstream names, resolved in the event loop by c-ares (/etc/hosts, then the servers of
 * resolv.conf): a slow name costs only the connections that wait for it, where
 * getaddrinfo on libuv's four pool threads would make every other lookup queue behind it.
 */
#ifndef FINWAIT_PROXY_RESOLVE_H
#define FINWAIT_PROXY_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

struct resolver;    /* one c-ares channel driven by one loop */
struct resolve_req; /* one lookup in flight */

/*
 * The answer to one lookup: status 0 and the n (> 0) addresses of the name, with the port
 * filled in, in the order c-ares sorted them (RFC 6724); or a negative UV_EAI_* code and no
 * address. The addresses are only valid during the call.
 */
typedef void (*resolve_cb)(void *arg, int status, const struct sockaddr_storage *addrs, size_t n);

/* A resolver on `loop`; reads resolv.conf now. 0, or a negative UV_E* code. */
int resolver_open(uv_loop_t *loop, struct resolver **out);
/* Stop every lookup (their callbacks never run) and close the resolver's handles; it is freed
 * when they have closed. */
void resolver_close(struct resolver *r);

/*
 * Look up `host` (A and AAAA) and call cb later, never from within this function. *out is the
 * lookup, for resolve_cancel(), until cb runs. 0, or a negative UV_E* code (cb never runs).
 */
int resolve_start(struct resolver *r, const char *host, uint16_t port, resolve_cb cb, void *arg,
                  struct resolve_req **out);
/* cb of q will not run. Its query may go on inside c-ares; its memory is freed when it ends. */
void resolve_cancel(struct resolve_req *q);

#endif
