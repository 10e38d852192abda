/*
 * The admin API's teardown verdicts: GET /findings[?proxy=P&kind=K&side=S] and
 * GET /proxies/{proxy}/findings, the aggregated findings of every proxy as JSON.
 * admin_api.c checks who asks, then hands these paths here.
 */
#ifndef FINWAIT_PROXY_ADMIN_FINDINGS_H
#define FINWAIT_PROXY_ADMIN_FINDINGS_H

#include <stdbool.h>

struct server;
struct admin_request;
struct admin_response;
struct conn;

/* Answer rq into `out` if its path is a findings route (true); false: `out` untouched. */
bool admin_findings_handle(struct server *srv, const struct admin_request *rq,
                           struct admin_response *out);

#endif
