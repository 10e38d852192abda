/*
 * Relay buffers. A buffer is taken when libuv asks for memory to read into and given
 * back as soon as its bytes are written, so an idle connection holds none. Freed
 * buffers are kept on a free list (up to a cap) so a busy relay allocates nothing.
 * Buffers are reference-counted because a shaping fault may write one buffer in pieces.
 */
#ifndef FINWAIT_PROXY_BUFPOOL_H
#define FINWAIT_PROXY_BUFPOOL_H

#include <stddef.h>

/* Size of one relay buffer: large reads mean fewer syscalls per byte. */
#define BUF_SIZE (64 * 1024)

struct buf {
    struct buf *next; /* free-list link while unused */
    unsigned refs;
    char data[BUF_SIZE];
};

struct buf *buf_get(void);
struct buf *buf_ref(struct buf *b);
void buf_unref(struct buf *b);
/* The buffer whose data[] starts at `data`. */
struct buf *buf_from_data(char *data);
/* Free every pooled buffer (at exit, so leak checkers see a clean heap). */
void bufpool_drain(void);

#endif
