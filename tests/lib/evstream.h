/*
 * A subscriber of finwait's GET /events for the tests: a raw socket (so that a test may stop
 * reading and look at its TCP state), and libcurl (a real HTTP client) for the whole body.
 */
#ifndef FW_TEST_EVSTREAM_H
#define FW_TEST_EVSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sock.h"

struct ev_sub {
    int fd;
    char *buf; /* everything read after the headers (chunk framing included), NUL-terminated */
    size_t len, cap;
    enum sk_end end; /* 0 while open */
};

/* GET /events`query` ("" or "?proxy=a") on 127.0.0.1:admin, and wait (5 s) for the 200 and
 * its headers: the subscription is in place when this returns. `rcvbuf` > 0 sets SO_RCVBUF
 * before the connect (a small window for a subscriber that will not read). */
struct ev_sub *ev_subscribe(uint16_t admin, const char *query, int rcvbuf);
/* The same, but an answer other than 200 is no failure: NULL, and the status in *status. */
struct ev_sub *ev_try_subscribe(uint16_t admin, const char *query, int rcvbuf, int *status);
/* Read until buf holds `needle` (true), or the stream ends or timeout_ms pass (false). */
bool ev_wait(struct ev_sub *s, const char *needle, int timeout_ms);
/* Read whatever arrives during ms. */
void ev_read_for(struct ev_sub *s, int ms);
/* Read until the connection ends within timeout_ms: SK_EOF, SK_RESET, or SK_TIMEOUT. */
enum sk_end ev_wait_end(struct ev_sub *s, int timeout_ms);
void ev_close(struct ev_sub *s);

/* The whole body of GET /events`query` read by libcurl on a thread, until the stream ends
 * (finwait stops) or timeout_ms. ev_curl_start returns once the 200 arrived. */
struct ev_curl;
struct ev_curl *ev_curl_start(uint16_t admin, const char *query, int timeout_ms);
/* How many times `needle` is in what was read so far; always the same needle for one c. */
int ev_curl_count(struct ev_curl *c, const char *needle);
/* Wait for the end; returns the body (NUL-terminated, the caller's) and libcurl's result
 * (CURLE_OK when the stream ended with its last chunk) in *curl_result. */
char *ev_curl_finish(struct ev_curl *c, int *curl_result);

#endif
