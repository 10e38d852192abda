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
 */
#define NOT_A_FD INT_MAX

static int reserve = -1; /* finwait's spare descriptor: closed to accept the pending ones */

static int reserve_open(void)
{
    if (reserve < 0)
        reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return reserve < 0 ? -errno : 0;
}

int emfile_take_over(uv_loop_t *loop)
{
    if (loop->emfile_fd != NOT_A_FD) {
        if (loop->emfile_fd >= 0)
            close(loop->emfile_fd);
        loop->emfile_fd = NOT_A_FD;
    }
    return reserve_open();
}

static void on_check_closed(uv_handle_t *h)
{
    free(h);
}

static void on_check(uv_check_t *h)
{
    emfile_take_over(h->loop);
    uv_close((uv_handle_t *)h, on_check_closed);
}

uint64_t emfile_shed(uv_loop_t *loop, int listen_fd)
{
    uv_check_t *back;
    uint64_t n = 0;
    int fd;

    /* libuv's trick may have opened a reserve of its own again (a descriptor came free) */
    emfile_take_over(loop);
    if (reserve >= 0) {
        close(reserve);
        reserve = -1;
    }
    /* Without a reserve (another thread took the descriptor it freed) the accepts below fail
     * with EMFILE too, and the pending connections wait for the next round. */
    for (;;) {
        fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            n++;
        } else if (errno != EINTR && errno != ECONNABORTED) {
            break;
        }
    }
    /*
     * libuv calls accept(2) again when this returns, and accept fails with EMFILE while no
     * descriptor is free, whether a connection is pending or not: with finwait's reserve back
     * in place it would call here again for ever. So the reserve goes to libuv for that call:
     * its own trick ends its loop (closing a connection that came meanwhile, the one not
     * counted), and the loop's check phase, right after this round of I/O, takes it back.
     * Should the reserve not reopen, libuv loops until a descriptor frees, as it does itself.
     */
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return n;
    loop->emfile_fd = fd;
    back = malloc(sizeof *back);
    if (back) {
        uv_check_init(loop, back);
        uv_check_start(back, on_check);
    }
    return n;
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
