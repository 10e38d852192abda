#include "proxy/fdlimit.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* Descriptors open now: the entries of /proc/self/fd, less the one reading it. */
static unsigned fds_in_use(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned n = 0;

    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own descriptor */
}

void fd_limit_get(struct fd_limit *l, bool raise)
{
    struct rlimit rl;

    *l = (struct fd_limit){0};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        l->err = -errno;
        return;
    }
    l->before = l->soft = (uint64_t)rl.rlim_cur;
    l->hard = (uint64_t)rl.rlim_max;
    if (raise && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            l->soft = (uint64_t)rl.rlim_cur;
        else
            l->err = -errno;
    }
    l->in_use = fds_in_use();
}

uint64_t fd_limit_connections(const struct fd_limit *l)
{
    return l->soft > l->in_use ? (l->soft - l->in_use) / 2 : 0;
}

const char *fd_limit_text(const struct fd_limit *l, char *buf, size_t len)
{
    char how[96];

    if (l->soft != l->before)
        snprintf(how, sizeof how, "raised from %llu", (unsigned long long)l->before);
    else if (l->err)
        snprintf(how, sizeof how, "could not raise it: %s", strerror(-l->err));
    else
        snprintf(how, sizeof how, "the hard limit");
    if (l->soft == l->hard || l->err)
        snprintf(buf, len, "open files limit %llu (%s), about %llu connections",
                 (unsigned long long)l->soft, how, (unsigned long long)fd_limit_connections(l));
    else
        snprintf(buf, len, "open files limit %llu (%s; hard limit %llu), about %llu connections",
                 (unsigned long long)l->soft, how, (unsigned long long)l->hard,
                 (unsigned long long)fd_limit_connections(l));
    return buf;
}

uint64_t fd_limit_soft(void)
{
    struct rlimit rl;

    return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 0;
}
