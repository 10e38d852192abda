#include "proxy/relay/emfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/log.h"

/*
 * libuv keeps its reserve in `loop->emfile_fd` (a field of uv_loop_t on Unix) and reopens it
 * in every uv_tcp_init while it is -1, so it cannot simply be closed. Instead the field holds
 * a number that is never an open descriptor: libuv's trick then closes nothing (EBADF),
 * accepts nothing (still EMFILE), cannot reopen its reserve, and hands UV_EMFILE to the
 * listener's callback, which calls emfile_shed. libuv's uv_loop_close closes the number
 * (EBADF, ignored).
 *
 * After the callback libuv calls accept(2) again, and accept fails with EMFILE whenever no
 * descriptor is free, a connection pending or not: it would call back for ever. So the shed
 * leaves the reserve's descriptor free until the end of this round of I/O (the loop's check
 * phase): libuv's next accept either finds nothing (EAGAIN: it stops) or takes a client that
 * came meanwhile, which emfile_refuse closes and counts at once. A second reserve covers a
 * round in which something else took the free descriptor before the first could reopen.
 */
#define NOT_A_FD INT_MAX
#define RESERVES 2

static int reserve[RESERVES] = {-1, -1}; /* finwait's spare descriptors */
static bool starved;                     /* a reserve was closed this round: refuse clients */
static uv_check_t *reopen;               /* the check handle that reopens it, while open */

static bool reserves_open(void)
{
    bool all = true;

    for (int i = 0; i < RESERVES; i++) {
        if (reserve[i] < 0)
            reserve[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        all &= reserve[i] >= 0;
    }
    return all;
}

int emfile_take_over(uv_loop_t *loop)
{
    if (loop->emfile_fd != NOT_A_FD) {
        if (loop->emfile_fd >= 0)
            close(loop->emfile_fd);
        loop->emfile_fd = NOT_A_FD;
    }
    return reserves_open() ? 0 : -errno;
}

static void on_reopen_closed(uv_handle_t *h)
{
    free(h);
}

/* The end of the round of I/O that shed connections: the reserves come back (or, if
 * something took their descriptors, in a later round; until then clients are refused). */
static void on_check(uv_check_t *h)
{
    if (emfile_take_over(h->loop) < 0)
        return;
    starved = false;
    reopen = NULL;
    uv_close((uv_handle_t *)h, on_reopen_closed);
}

uint64_t emfile_shed(uv_loop_t *loop, int listen_fd)
{
    uint64_t n = 0;
    int fd;

    for (int i = 0; i < RESERVES; i++)
        if (reserve[i] >= 0) {
            close(reserve[i]);
            reserve[i] = -1;
            break;
        }
    /* Without a reserve left the accepts fail with EMFILE too and libuv calls again until a
     * descriptor frees, as it does itself when its own reserve cannot reopen. */
    for (;;) {
        fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            n++;
        } else if (errno != EINTR && errno != ECONNABORTED) {
            break;
        }
    }
    starved = true;
    if (!reopen && (reopen = malloc(sizeof *reopen)) != NULL) {
        uv_check_init(loop, reopen);
        uv_check_start(reopen, on_check);
    }
    return n;
}

bool emfile_refuse(uv_stream_t *server)
{
    if (!starved || server->accepted_fd < 0)
        return false;
    close(server->accepted_fd);
    server->accepted_fd = -1; /* libuv's: it accepts the next one */
    return true;
}

#define LOG_INTERVAL_MS 1000

void emfile_log(uv_loop_t *loop, const char *proxy, int err, uint64_t n)
{
    static uint64_t last_ms, unsaid; /* the previous line, and what happened since */
    static bool said;
    uint64_t now = uv_now(loop);

    unsaid += n;
    if (!unsaid || (said && now - last_ms < LOG_INTERVAL_MS))
        return;
    struct log_kv kv[] = {{"closed", NULL, unsaid}};
    LOG_KV(LOG_LEVEL_WARN, proxy, "accept_failed", kv, 1,
           "accept: %s: %llu connection%s closed unserved%s (see finwait_accept_failures_total)",
           err == UV_ENFILE ? "too many open files in system" : "too many open files",
           (unsigned long long)unsaid, unsaid == 1 ? "" : "s", said ? " since the last line" : "");
    said = true;
    last_ms = now;
    unsaid = 0;
}
