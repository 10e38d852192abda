#include "proxy/relay/bufpool.h"

#include <assert.h>
#include <stdlib.h>

/* Enough for every active direction of a busy proxy; beyond it, memory goes back. */
#define POOL_MAX 64

static struct buf *pool;
static unsigned pool_len;

struct buf *buf_get(void)
{
    struct buf *b = pool;

    if (b) {
        pool = b->next;
        pool_len--;
    } else {
        b = malloc(sizeof *b);
        if (!b)
            return NULL;
    }
    b->next = NULL;
    b->refs = 1;
    return b;
}

struct buf *buf_ref(struct buf *b)
{
    b->refs++;
    return b;
}

void buf_unref(struct buf *b)
{
    assert(b->refs > 0);
    if (--b->refs > 0)
        return;
    if (pool_len >= POOL_MAX) {
        free(b);
        return;
    }
    b->next = pool;
    pool = b;
    pool_len++;
}

struct buf *buf_from_data(char *data)
{
    return (struct buf *)(data - offsetof(struct buf, data));
}

void bufpool_drain(void)
{
    while (pool) {
        struct buf *b = pool;
        pool = b->next;
        free(b);
    }
    pool_len = 0;
}
