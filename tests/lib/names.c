#include "names.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "proc.h"

static void skip(const char *why)
{
    const char *ci = getenv("CI");

    if (ci && strcmp(ci, "true") == 0 && geteuid() == 0) {
        fprintf(stderr, "name test cannot run (%s) although CI=true and root\n", why);
        exit(1);
    }
    fprintf(stderr, "SKIP: %s (upstream name tests need root for their namespaces)\n", why);
    exit(77);
}

static void bind_over(const char *src, const char *dst)
{
    CHECK_MSG(mount(src, dst, NULL, MS_BIND, NULL) == 0, "bind %s over %s: %s", src, dst,
              strerror(errno));
}

void names_enter(const char *hosts, const char *resolv)
{
    if (unshare(CLONE_NEWNS) != 0)
        skip(strerror(errno));
    /* mounts made here must not propagate back to the machine's namespace */
    CHECK_MSG(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "make / private: %s",
              strerror(errno));
    if (!netns_try_enter())
        skip("no network namespace");
    bind_over(fwp_tmpfile(0, "hosts", hosts), "/etc/hosts");
    if (resolv)
        bind_over(fwp_tmpfile(1, "resolv.conf", resolv), "/etc/resolv.conf");
}

void names_sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    rc = system(cmd);
    CHECK_MSG(rc == 0, "'%s' exited with %d", cmd, rc);
}

bool names_have(const char *cmd)
{
    char path[128];

    snprintf(path, sizeof path, "/usr/sbin/%s", cmd);
    return access(path, X_OK) == 0;
}
