#include "starve.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "sock.h"

void starve_get_nofile(pid_t pid, uint64_t *soft, uint64_t *hard)
{
    struct rlimit rl;

    CHECK_MSG(prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0, "prlimit: %s", strerror(errno));
    *soft = rl.rlim_cur;
    *hard = rl.rlim_max;
}

void starve_nofile(pid_t pid, uint64_t soft)
{
    struct rlimit rl;

    CHECK_MSG(prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0, "prlimit: %s", strerror(errno));
    rl.rlim_cur = soft;
    CHECK_MSG(prlimit(pid, RLIMIT_NOFILE, &rl, NULL) == 0, "prlimit: %s", strerror(errno));
}

uint64_t starve_leave(pid_t pid, unsigned free)
{
    static bool open_fd[1 << 16];
    char path[64];
    struct dirent *e;
    unsigned holes = 0;
    DIR *d;

    memset(open_fd, 0, sizeof open_fd);
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    d = opendir(path);
    CHECK(d != NULL);
    while ((e = readdir(d))) {
        long fd = strtol(e->d_name, NULL, 10);
        if (e->d_name[0] != '.' && fd >= 0 && fd < (long)(sizeof open_fd))
            open_fd[fd] = true;
    }
    closedir(d);
    for (uint64_t n = 0; n < sizeof open_fd; n++) {
        if (open_fd[n])
            continue;
        if (holes++ == free) {
            fprintf(stderr, "pid %d: descriptor limit %llu, %u free below it\n", (int)pid,
                    (unsigned long long)n, free);
            starve_nofile(pid, n);
            return n;
        }
    }
    CHECK_MSG(false, "no free descriptor number below 65536");
    return 0;
}

int64_t starve_cpu_ms(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut, st;
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    CHECK(f != NULL);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* fields after the command (which may hold spaces) start after its closing parenthesis;
     * utime and stime are fields 14 and 15, the 12th and 13th after it */
    p = strrchr(buf, ')');
    CHECK(p != NULL);
    CHECK(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2);
    return (int64_t)((ut + st) * 1000 / (unsigned long long)sysconf(_SC_CLK_TCK));
}

int starve_get_version(int fd, int timeout_ms)
{
    static const char req[] =
        "GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    char buf[4096];
    size_t len = 0;
    int status = 0;

    if (sk_write_all(fd, req, sizeof req - 1, timeout_ms) != 0)
        return 0;
    for (int64_t end = now_ms() + timeout_ms; now_ms() < end && len < sizeof buf - 1;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;
        if (poll(&p, 1, (int)(end - now_ms())) <= 0)
            continue;
        n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || !strstr(buf, "\"version\""))
        return 0;
    return status;
}
