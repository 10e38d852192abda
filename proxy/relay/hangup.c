#include "proxy/relay/hangup.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "proxy/relay/conn.h"
#include "proxy/relay/tcpinfo.h"

struct hangup {
    uv_poll_t poll;
    struct conn *c;
    enum leg_id l;
    int fd; /* the dup() watched: closed after the poll handle */
};

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct hangup *hu = h->data;
    struct conn *c = hu->c;
    enum leg_id l = hu->l;
    int err;

    (void)events;
    if (c->closing)
        return;
    /* libuv reports EPOLLERR as UV_EBADF: the socket's pending error is the reason */
    err = tcpinfo_sock_error(hu->fd);
    if (status == 0 && err == 0) {
        /* urgent data, or a hang-up with no error: both directions are shut without a reset
         * (finwait's FIN went out); nothing is left to watch for */
        hangup_stop(c, l);
        return;
    }
    hangup_stop(c, l);
    conn__peer_reset(c, l, err ? err : UV_ECONNRESET);
}

int hangup_watch(struct conn *c, enum leg_id l)
{
    struct hangup *hu;
    int fd = conn_leg_fd(c, l), r;

    if (c->hangup[l] || fd < 0)
        return 0;
    hu = calloc(1, sizeof *hu);
    if (!hu)
        return UV_ENOMEM;
    hu->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (hu->fd < 0) {
        free(hu);
        return UV_EMFILE;
    }
    hu->c = c;
    hu->l = l;
    r = uv_poll_init(c->timer.loop, &hu->poll, hu->fd);
    if (r < 0) {
        close(hu->fd);
        free(hu);
        return r;
    }
    hu->poll.data = hu;
    c->hangup[l] = hu;
    return uv_poll_start(&hu->poll, UV_PRIORITIZED, on_poll);
}

static void on_closed(uv_handle_t *h)
{
    struct hangup *hu = h->data;
    struct conn *c = hu->c;

    /* the socket closes for good only now: the dup kept it open */
    close(hu->fd);
    free(hu);
    conn__release(c);
}

void hangup_stop(struct conn *c, enum leg_id l)
{
    struct hangup *hu = c->hangup[l];

    if (!hu)
        return;
    c->hangup[l] = NULL;
    conn__hold(c);
    uv_close((uv_handle_t *)&hu->poll, on_closed);
}
