#include "proxy/relay/emfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/log.h"

/* Two: a shed gives up one and takes it back at once; the second covers the descriptor that
 * something else (another process, for ENFILE) took in between, until a later shed. */
#define RESERVES 2

static int reserve[RESERVES] = {-1, -1};

bool emfile_reserve(void)
{
    bool all = true;

    for (int i = 0; i < RESERVES; i++) {
        if (reserve[i] < 0)
            reserve[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        all &= reserve[i] >= 0;
    }
    return all;
}

uint64_t emfile_shed(int listen_fd, bool *stuck)
{
    uint64_t n = 0;
    int i, fd;

    for (i = 0; i < RESERVES && reserve[i] < 0; i++)
        ;
    *stuck = i == RESERVES;
    if (*stuck)
        return 0;
    close(reserve[i]);
    reserve[i] = -1;
    for (;;) {
        fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            n++;
        } else if (errno != EINTR && errno != ECONNABORTED) {
            break; /* EAGAIN: none left; EMFILE: the freed descriptor was taken meanwhile */
        }
    }
    emfile_reserve();
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
