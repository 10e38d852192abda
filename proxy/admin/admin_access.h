/* Who may drive the admin API (proxy/admin/admin_api.c asks before every request). */
#ifndef FINWAIT_PROXY_ADMIN_ACCESS_H
#define FINWAIT_PROXY_ADMIN_ACCESS_H

#include <stdbool.h>

struct config;

/* A Host header a browser page cannot have been pointed at by DNS rebinding: an IP literal,
 * localhost, or a name of cfg's admin.hosts; any port. */
bool admin_host_allowed(const struct config *cfg, const char *host);
/* `Authorization: Bearer TOKEN` carries `token`, compared in time that depends on the token's
 * length only. */
bool admin_token_ok(const char *token, const char *authorization);

#endif
