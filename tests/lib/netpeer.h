/*
 * More network namespaces beside the test's own (enter it with netns_enter first), for tests
 * where an application's connection crosses namespaces as it would cross hosts: each peer
 * namespace is held by a child process and joined to the test's namespace by a veth pair.
 *   here:  veth "fw<net>", 10.<net>.0.1/24 and fd<net>::1/64
 *   there: veth "eth0",    10.<net>.0.2/24 and fd<net>::2/64, default routes via here
 * The child runs fn(arg) there and exits with its return value.
 */
#ifndef FW_TEST_NETPEER_H
#define FW_TEST_NETPEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sock.h"

struct netpeer {
    pid_t pid;
    unsigned net;
};

/* Make the namespace of net `net` (1..250) and start fn in it once its addresses are up; wait
 * until fn calls netpeer_ready(). Fails the test if anything cannot be set up. */
void netpeer_start(struct netpeer *np, unsigned net, int (*fn)(void *arg), void *arg);
/* In fn: tell the test it is ready (listening, say). */
void netpeer_ready(void);
/* Wait (up to timeout_ms) for the child to exit: its exit code, or -1 (then it is killed). */
int netpeer_wait(struct netpeer *np, int timeout_ms);
/* End the child (SIGKILL) and reap it. */
void netpeer_stop(struct netpeer *np);

/*
 * A server for fn: listens on every address at `ports[0..n)` (both families); for each
 * connection writes "from <client address>\n" (IPv4 clients without the ::ffff: prefix) and
 * closes (a FIN). Ready once it listens. Never returns.
 */
int netpeer_greeter(const uint16_t *ports, unsigned n);

/*
 * How a connection to a greeter at host:port ends for a client process that first runs
 * become(arg) (a setuid, a move to another cgroup: whatever decides who makes the socket) in a
 * child of the test, which is then gone. The client must read the greeting "from <from>\n"
 * whole; become() returns false on failure. Fails the test if either goes wrong.
 */
enum sk_end netpeer_greeting_end(bool (*become)(const void *arg), const void *arg, const char *host,
                                 uint16_t port, const char *from);

/* Run a shell command (printf format) in the current namespace; fail the test if it fails. */
void netpeer_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
