/*
 * A test's HTTP/1.1 client for finwait's admin API: one request per connection, with a
 * deadline, the JSON answer parsed.
 */
#ifndef FW_TEST_HTTP_H
#define FW_TEST_HTTP_H

#include <jansson.h>
#include <stdint.h>

/* `method` `path` to 127.0.0.1:port with `body` (JSON text, or NULL) and `headers` (extra
 * "Name: value\r\n" lines, or NULL). Returns the status, or -1 when no HTTP answer came within
 * timeout_ms. *out (if given) gets the JSON body, or NULL when the body is empty or not JSON. */
int http_call(uint16_t port, const char *method, const char *path, const char *body,
              const char *headers, json_t **out, int timeout_ms);

/* The port after the last ':' of a Toxiproxy `listen` ("127.0.0.1:8666", "[::1]:8666"). */
uint16_t http_listen_port(const char *listen);

#endif
