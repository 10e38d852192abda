/*
 * A client of finwait's admin API for the tests: one HTTP/1.1 request per connection, with a
 * deadline, and the response's status, headers and body.
 */
#ifndef FW_TEST_HTTP_H
#define FW_TEST_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "proc.h"

struct http_resp {
    int status;   /* 0 if the connection ended without a response */
    char *head;   /* status line and headers, NUL-terminated */
    char *body;   /* NUL-terminated (may be "") */
    json_t *json; /* the body as JSON, or NULL */
};

/* The admin API's port, from finwait's "listening on 127.0.0.1:PORT" line (waits 5 s). */
uint16_t http_admin_port(struct fwp *fw);
/* Send `method path` with `headers` (each line ending in \r\n; NULL: "Host: 127.0.0.1\r\n")
 * and `body` (NULL: none) to 127.0.0.1:port; read the whole response (the connection is
 * closed by the request's `Connection: close`). Returns the status. */
int http_req(uint16_t port, const char *method, const char *path, const char *headers,
             const char *body, struct http_resp *out);
/* The value of response header `name` (case-insensitive), in a static buffer, or NULL. */
const char *http_header(const struct http_resp *r, const char *name);
void http_resp_free(struct http_resp *r);

/* http_req for a JSON answer: returns the status; *out (if given) gets the JSON body (the
 * caller's to json_decref) or NULL. */
int http_json(uint16_t port, const char *method, const char *path, const char *body, json_t **out);
/* POST /proxies {name, listen 127.0.0.1:0, upstream 127.0.0.1:upstream}: the test fails
 * unless it answers 201; returns the port the proxy was bound to. */
uint16_t http_create_proxy(uint16_t admin, const char *name, uint16_t upstream);
/* The port after the last ':' of a Toxiproxy `listen` ("127.0.0.1:8666", "[::1]:8666"). */
uint16_t http_listen_port(const char *listen);

#endif
