/* Who may drive the admin API: the Host header a browser page cannot forge by DNS rebinding,
 * and the bearer token. */
#include "proxy/admin/admin_access.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "rules/config.h"

/* A Host header a browser page cannot have been pointed at by DNS rebinding: an IP literal,
 * localhost, or a name the configuration lists; any port. */
bool admin_host_allowed(const struct config *cfg, const char *host)
{
    char name[256];
    unsigned char addr[16];
    const char *colon;
    size_t len;

    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        len = close ? (size_t)(close - host - 1) : 0;
        if (!close || len >= sizeof name || (close[1] && close[1] != ':'))
            return false;
        memcpy(name, host + 1, len);
        name[len] = '\0';
        return inet_pton(AF_INET6, name, addr) == 1;
    }
    colon = strchr(host, ':');
    len = colon ? (size_t)(colon - host) : strlen(host);
    if (len == 0 || len >= sizeof name || (colon && strchr(colon + 1, ':')))
        return false;
    memcpy(name, host, len);
    name[len] = '\0';
    if (inet_pton(AF_INET, name, addr) == 1 || strcasecmp(name, "localhost") == 0)
        return true;
    for (size_t i = 0; i < cfg->admin_nhosts; i++)
        if (strcasecmp(name, cfg->admin_hosts[i]) == 0)
            return true;
    return false;
}

/* `Authorization: Bearer TOKEN`, compared in time that depends on the token's length only,
 * so that a client cannot find it a byte at a time. */
bool admin_token_ok(const char *token, const char *authorization)
{
    size_t tlen = strlen(token), glen;
    unsigned char diff;
    const char *given;

    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return false;
    given = authorization + 7;
    while (*given == ' ')
        given++;
    glen = strlen(given);
    diff = glen != tlen;
    for (size_t i = 0; i < tlen; i++)
        diff |= (unsigned char)(token[i] ^ (glen ? given[i % glen] : 0));
    return diff == 0;
}
