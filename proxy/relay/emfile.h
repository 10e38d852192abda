/*
 * Connections accepted and closed unserved because no descriptor was free (EMFILE, ENFILE).
 *
 * When accept(2) fails with EMFILE, libuv closes a descriptor it keeps in reserve, accepts
 * every pending connection and closes it at once, then reopens the reserve: clients get an EOF
 * instead of hanging in the backlog, but the listener's callback never hears of it, so nothing
 * could count or log them. finwait takes that reserve over (emfile_take_over) and does the same
 * itself in the listener's callback (emfile_shed), counting each connection it closes.
 */
#ifndef FINWAIT_PROXY_EMFILE_H
#define FINWAIT_PROXY_EMFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Replace libuv's reserve descriptor of `loop` by finwait's own (once per loop; call it after
 * the loop's first uv_tcp_init, which opens libuv's). Returns 0 or a negative UV_E* code. */
int emfile_take_over(uv_loop_t *loop);
/* accept(2) on `listen_fd` failed with EMFILE or ENFILE: accept and close what is pending,
 * using the reserve. Returns how many connections were closed unserved. */
uint64_t emfile_shed(uv_loop_t *loop, int listen_fd);

/* Called with each connection libuv accepted for `server`: true if it was closed unserved
 * instead (it came while a reserve descriptor was given up to shed others). */
bool emfile_refuse(uv_stream_t *server);
/* Say that `n` connections of proxy `proxy` were closed unserved (err: UV_EMFILE or
 * UV_ENFILE): one warning a second at most, with the count since the previous one. */
void emfile_log(uv_loop_t *loop, const char *proxy, int err, uint64_t n);

#endif
