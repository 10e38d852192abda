/*
 * An event stream (`GET /events`) on an admin HTTP connection: libmicrohttpd sends a chunked
 * response whose body comes from an events_sub (proxy/admin/events.c). While the subscriber has
 * nothing to read the connection is suspended, so it costs nothing and does not time out; a
 * new line resumes it. A subscriber the hub dropped is cut with an RST.
 */
#ifndef FINWAIT_PROXY_ADMIN_STREAM_H
#define FINWAIT_PROXY_ADMIN_STREAM_H

#include <microhttpd.h>

struct admin_stream;
struct events_sub;

/* The kernel's send buffer of a stream's socket: what it may hold beyond EVENTS_BUF_MAX. */
#define ADMIN_STREAM_SNDBUF (64 * 1024)

/*
 * A response that streams sub's lines on mc, with fd its socket; it owns sub from now on
 * (also when this fails: NULL). `*slot` points to the stream while it lives, and is set to
 * NULL when it ends, so that the connection may ask it whether its peer is still there.
 * `kick(ctx)` must make the loop call MHD_run soon: with external polling libmicrohttpd has
 * no way to wake itself for a resumed connection (MHD_USE_ITC is for its own threads), and
 * the resume can come from inside MHD_run, where calling it again is not allowed.
 */
struct MHD_Response *admin_stream_response(struct events_sub *sub, struct MHD_Connection *mc,
                                           int fd, struct admin_stream **slot,
                                           void (*kick)(void *ctx), void *ctx);
/* The connection that held *slot is closing: forget the slot. */
void admin_stream_forget(struct admin_stream *st);
/*
 * A suspended connection sees no EOF from its peer (libmicrohttpd does not poll it): look,
 * and end the stream of a subscriber that went away, so that its admin connection is freed.
 */
void admin_stream_check_peer(struct admin_stream *st);

#endif
