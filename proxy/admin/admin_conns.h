/*
 * The admin API's view of open connections: GET /connections, GET /proxies/{proxy}/connections,
 * GET /proxies/{proxy}/connections/{id} (JSON with its timeline, or the drawn diagram for
 * Accept: text/plain) and DELETE /proxies/{proxy}/connections/{id}?mode=rst|fin.
 * admin_api.c checks who asks, then hands these paths here.
 */
#ifndef FINWAIT_PROXY_ADMIN_CONNS_H
#define FINWAIT_PROXY_ADMIN_CONNS_H

#include <stdbool.h>

struct server;
struct admin_request;
struct admin_response;

/* Answer rq into `out` if its path is one of the connection routes (true); false: not one of
 * them, `out` untouched. */
bool admin_conns_handle(struct server *srv, const struct admin_request *rq,
                        struct admin_response *out);

#endif
