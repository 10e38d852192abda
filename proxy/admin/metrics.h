/*
 * GET /metrics: finwait's counters (proxy/stats.h) and the open connections' state in
 * Prometheus' text exposition format, with Toxiproxy's byte counters beside finwait's own.
 */
#ifndef FINWAIT_PROXY_METRICS_H
#define FINWAIT_PROXY_METRICS_H

#include <stddef.h>

struct server;

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Everything srv counts, as of now. Returns 0 with *body (malloc'd, the caller frees it) and
 * *len, or UV_ENOMEM. */
int metrics_render(struct server *srv, char **body, size_t *len);

#endif
