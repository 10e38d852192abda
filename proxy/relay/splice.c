#include "proxy/relay/splice.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "proxy/relay/bufpool.h"
#include "proxy/relay/conn.h"
#include "proxy/relay/tcpinfo.h"

/* Bytes moved per splice call: a pipe holds 64 KiB by default; larger pipes mean fewer
 * calls per byte. */
#define PIPE_SIZE (1024 * 1024)

struct splicer {
    struct conn *c;
    enum dir d;
    int pipe[2];     /* [0] read end, [1] write end */
    int src, dst;    /* dup()s of the legs' sockets: libuv keeps its own watchers on the
                        originals, and epoll needs one descriptor per watcher */
    size_t in_pipe;  /* bytes read from src not yet written to dst */
    bool eof;        /* src sent its FIN: relay it once the pipe is empty */
    bool done;       /* parked for good: the FIN was passed on, or moving failed */
    bool dst_failed; /* writing to dst failed: what is in the pipe can go nowhere */
    uv_poll_t src_poll, dst_poll;
    int closing; /* handles still to close */
};

static void on_poll(uv_poll_t *h, int status, int events);

/* Move what is in the pipe to dst. Returns 1 when empty, 0 when dst is full, <0 on error. */
static int drain(struct splicer *sp)
{
    while (sp->in_pipe > 0) {
        ssize_t n = splice(sp->pipe[0], NULL, sp->dst, NULL, sp->in_pipe,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0)
            return errno == EAGAIN ? 0 : -errno;
        sp->in_pipe -= (size_t)n;
        conn__delivered(sp->c, sp->d, (size_t)n);
    }
    return 1;
}

/* Both ends stopped: the direction is over (FIN relayed through conn.c, or an error). */
static void park(struct splicer *sp)
{
    sp->done = true;
    uv_poll_stop(&sp->src_poll);
    uv_poll_stop(&sp->dst_poll);
}

/* Moving failed on leg l with the kernel's reason err. What is in the pipe came from the
 * source before its end: it is still owed to dst, unless dst is the leg that failed. */
static void fail(struct splicer *sp, enum leg_id l, int err)
{
    park(sp);
    sp->dst_failed = l == dir_dst(sp->d);
    conn__peer_reset(sp->c, l, err);
}

static void pump(struct splicer *sp)
{
    struct conn *c = sp->c;
    int r;

    for (;;) {
        r = drain(sp);
        if (r < 0) {
            fail(sp, dir_dst(sp->d), r);
            return;
        }
        if (r == 0) { /* dst full: wait until it can take more, stop reading meanwhile */
            uv_poll_stop(&sp->src_poll);
            uv_poll_start(&sp->dst_poll, UV_WRITABLE, on_poll);
            return;
        }
        if (sp->eof) {
            park(sp);
            conn__splice_fin(c, sp->d);
            return;
        }
        ssize_t n =
            splice(sp->src, NULL, sp->pipe[1], NULL, PIPE_SIZE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n == 0) {
            sp->eof = true;
            continue;
        }
        if (n < 0) {
            if (errno == EAGAIN) {
                uv_poll_stop(&sp->dst_poll);
                uv_poll_start(&sp->src_poll, UV_READABLE | UV_DISCONNECT, on_poll);
                return;
            }
            fail(sp, dir_src(sp->d), -errno);
            return;
        }
        sp->in_pipe += (size_t)n;
        c->dirs[sp->d].bytes_in += (uint64_t)n;
        c->last_activity_ms = uv_now(sp->src_poll.loop);
    }
}

/* The source became readable or the destination writable: move what can move. */
static void on_poll(uv_poll_t *h, int status, int events)
{
    struct splicer *sp = h->data;

    (void)events;
    if (sp->c->closing || sp->done)
        return;
    /* libuv reports EPOLLERR as UV_EBADF, which is no reason a peer gives. On the source, the
     * bytes that came before a reset are still readable and splice() returns the kernel's
     * error after them: pump. On the destination, the socket's pending error is the reason. */
    if (status < 0 && h == &sp->dst_poll) {
        int err = tcpinfo_sock_error(sp->dst);
        if (err) {
            fail(sp, dir_dst(sp->d), err);
            return;
        }
    }
    pump(sp);
}

int splice_start(struct conn *c, enum dir d)
{
    struct splicer *sp = calloc(1, sizeof *sp);
    uv_os_fd_t src, dst;

    if (!sp)
        return UV_ENOMEM;
    if (uv_fileno((uv_handle_t *)&c->legs[dir_src(d)].tcp, &src) != 0 ||
        uv_fileno((uv_handle_t *)&c->legs[dir_dst(d)].tcp, &dst) != 0)
        goto fail_free;
    if (pipe2(sp->pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        goto fail_free;
    fcntl(sp->pipe[1], F_SETPIPE_SZ, PIPE_SIZE); /* a smaller pipe still works */
    sp->src = fcntl(src, F_DUPFD_CLOEXEC, 0);
    sp->dst = fcntl(dst, F_DUPFD_CLOEXEC, 0);
    if (sp->src < 0 || sp->dst < 0)
        goto fail_fds;
    sp->c = c;
    sp->d = d;
    uv_poll_init(c->timer.loop, &sp->src_poll, sp->src);
    uv_poll_init(c->timer.loop, &sp->dst_poll, sp->dst);
    sp->src_poll.data = sp->dst_poll.data = sp;
    c->splice[d] = sp;
    uv_poll_start(&sp->src_poll, UV_READABLE | UV_DISCONNECT, on_poll);
    return 0;

fail_fds:
    if (sp->src >= 0)
        close(sp->src);
    if (sp->dst >= 0)
        close(sp->dst);
    close(sp->pipe[0]);
    close(sp->pipe[1]);
fail_free:
    free(sp);
    return UV_EIO;
}

static void on_closed(uv_handle_t *h)
{
    struct splicer *sp = h->data;
    struct conn *c = sp->c;

    if (--sp->closing > 0)
        return;
    /* the sockets close for good only now: the dups kept them open */
    close(sp->src);
    close(sp->dst);
    close(sp->pipe[0]);
    close(sp->pipe[1]);
    free(sp);
    conn__release(c);
}

void splice_stop(struct conn *c, enum dir d)
{
    struct splicer *sp = c->splice[d];

    if (!sp)
        return;
    c->splice[d] = NULL;
    sp->closing = 2;
    conn__hold(c);
    uv_close((uv_handle_t *)&sp->src_poll, on_closed);
    uv_close((uv_handle_t *)&sp->dst_poll, on_closed);
}

bool splice_unsplice(struct conn *c, enum dir d)
{
    struct splicer *sp = c->splice[d];
    bool fin;

    if (!sp)
        return false;
    fin = sp->eof && !sp->done;
    while (!sp->dst_failed && sp->in_pipe > 0) {
        struct buf *b = buf_get();
        ssize_t n =
            b ? read(sp->pipe[0], b->data, sp->in_pipe < BUF_SIZE ? sp->in_pipe : BUF_SIZE) : -1;
        if (n <= 0) {
            /* the pipe holds bytes that can no longer be relayed in order */
            if (b)
                buf_unref(b);
            splice_stop(c, d);
            conn_abort(c, "cannot leave the splice path");
            return false;
        }
        sp->in_pipe -= (size_t)n;
        conn__write(c, d, b, 0, (size_t)n);
    }
    splice_stop(c, d);
    return fin && !c->closing;
}
