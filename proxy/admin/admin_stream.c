#include "proxy/admin/admin_stream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "proxy/admin/events.h"
#include "proxy/log.h"

/* The body's chunks: what libmicrohttpd asks for at most per call of the reader. */
#define CHUNK_MAX (16 * 1024)

struct admin_stream {
    struct events_sub *sub;
    struct MHD_Connection *mc;
    int fd;
    bool suspended;             /* the reader suspended mc: only a resume brings it back */
    struct admin_stream **slot; /* the connection's pointer to us, NULL once it forgot */
    void (*kick)(void *ctx);    /* have the loop run libmicrohttpd */
    void *kick_ctx;
};

/* From events.c, wherever a line was logged: only resume or cut, nothing that logs. */
static void on_wake(void *ctx)
{
    struct admin_stream *st = ctx;
    enum events_end end = events_state(st->sub);

    if (end == EVENTS_DROPPED) {
        /* The subscriber does not read: its socket is full, so a FIN would wait behind the
         * bytes it does not take. An RST tells it at once and frees the kernel's buffers;
         * libmicrohttpd sees the shut-down socket and closes it (SO_LINGER 0: the RST). */
        struct linger lg = {1, 0};
        setsockopt(st->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        shutdown(st->fd, SHUT_RDWR);
    }
    if (st->suspended) {
        st->suspended = false;
        MHD_resume_connection(st->mc);
    }
    st->kick(st->kick_ctx);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct admin_stream *st = cls;
    ssize_t n = events_read(st->sub, buf, max);

    (void)pos;
    if (n > 0)
        return n;
    if (n == 0) {
        /* nothing to send: out of libmicrohttpd's polling until events.c wakes us */
        st->suspended = true;
        MHD_suspend_connection(st->mc);
        return 0;
    }
    switch (events_state(st->sub)) {
    case EVENTS_STOPPED:
        return MHD_CONTENT_READER_END_OF_STREAM; /* the last chunk: a clean end */
    default:
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void on_free(void *cls)
{
    struct admin_stream *st = cls;

    if (st->slot)
        *st->slot = NULL;
    /* said here, where logging is safe: libmicrohttpd may never call the reader of a
     * subscriber whose socket is full */
    if (events_state(st->sub) == EVENTS_DROPPED)
        LOG(LOG_LEVEL_WARN, NULL, "events_dropped",
            "admin API: an /events subscriber fell %d bytes behind: dropped (connection reset)",
            EVENTS_BUF_MAX);
    events_unsubscribe(st->sub);
    free(st);
}

struct MHD_Response *admin_stream_response(struct events_sub *sub, struct MHD_Connection *mc,
                                           int fd, struct admin_stream **slot,
                                           void (*kick)(void *ctx), void *ctx)
{
    struct admin_stream *st = calloc(1, sizeof *st);
    struct MHD_Response *resp;
    int sndbuf = ADMIN_STREAM_SNDBUF;

    if (!st) {
        events_unsubscribe(sub);
        return NULL;
    }
    st->sub = sub;
    st->mc = mc;
    st->fd = fd;
    st->kick = kick;
    st->kick_ctx = ctx;
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, CHUNK_MAX, reader, st, on_free);
    if (!resp) {
        on_free(st);
        return NULL;
    }
    /* a fixed send buffer: the kernel's autotuning would let a subscriber that does not read
     * hold megabytes more than EVENTS_BUF_MAX before the hub notices */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    events_set_wake(sub, on_wake, st);
    st->slot = slot;
    *slot = st;
    return resp;
}

void admin_stream_forget(struct admin_stream *st)
{
    if (st)
        st->slot = NULL;
}

void admin_stream_check_peer(struct admin_stream *st)
{
    char c;
    ssize_t n;

    if (!st->suspended)
        return; /* libmicrohttpd polls it: it sees the EOF itself */
    n = recv(st->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        events_end(st->sub, EVENTS_GONE);
}
