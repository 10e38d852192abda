#include "sendq.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "sock.h"

bool sk_wait_acked(int fd, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        int n = 0;
        if (ioctl(fd, SIOCOUTQ, &n) == 0 && n == 0)
            return true;
        if (now_ms() >= deadline)
            return false;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

int sk_pending_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;

    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err;
}
