/*
 * The admin API: Toxiproxy's HTTP API (/proxies, /toxics, /populate, /reset, /version) served
 * from finwait's own loop, so Toxiproxy's client libraries drive finwait unchanged.
 *
 * Every change is made to a copy of the running configuration (as a JSON document in
 * finwait's YAML schema), validated by the same loader as a file, and applied with
 * server_reload(): a bad request changes nothing and says why.
 */
#ifndef FINWAIT_PROXY_ADMIN_H
#define FINWAIT_PROXY_ADMIN_H

#include <stdint.h>

struct admin;
struct server;

/* Listen on host:port ("" = all interfaces, port 0 = ephemeral) and take the running
 * configuration from srv. Returns 0, or -1 after logging why. */
int admin_start(struct admin **out, struct server *srv, const char *host, uint16_t port);
/* The configuration file was reloaded (SIGHUP): it is the API's starting point again. */
void admin_file_reloaded(struct admin *a);
/* Stop serving; handles close asynchronously and the admin is freed after. */
void admin_stop(struct admin *a);

#endif
