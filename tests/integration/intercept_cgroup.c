/* `intercept: {cgroup}`: only the connections of sockets made in that cgroup v2 are taken
 * (iptables' cgroup match); the same connection made from another cgroup (the test's own)
 * passes untouched. The cgroup is a real one, made for the test under the test's own cgroup
 * on the machine's cgroup v2 hierarchy, and removed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "netns.h"
#include "netpeer.h"
#include "proc.h"
#include "sock.h"

static char cg_dir[512];  /* the test's cgroup in the file system */
static char cg_path[256]; /* the same as the cgroup v2 hierarchy names it (what iptables takes) */

static int greeter(void *arg)
{
    static const uint16_t ports[] = {5432};

    (void)arg;
    return netpeer_greeter(ports, 1);
}

/* Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid system):
 * into buf, or false if it is not. */
static bool cgroup2_mount(char *buf, size_t len)
{
    FILE *f = fopen("/proc/self/mounts", "r");
    char dev[64], dir[256], type[32];
    bool found = false;

    if (!f)
        return false;
    while (!found && fscanf(f, "%63s %255s %31s %*[^\n]", dev, dir, type) == 3)
        if (strcmp(type, "cgroup2") == 0)
            found = (size_t)snprintf(buf, len, "%s", dir) < len;
    fclose(f);
    return found;
}

/* The test's own cgroup v2 path ("/" or "/a/b"), from /proc/self/cgroup's "0::" line. */
static bool own_cgroup(char *buf, size_t len)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[512];
    bool found = false;

    if (!f)
        return false;
    while (!found && fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            found = (size_t)snprintf(buf, len, "%s", line + 3) < len;
        }
    fclose(f);
    return found;
}

static void remove_cgroup(void)
{
    if (cg_dir[0])
        rmdir(cg_dir);
}

/* The calling process moves into cg_dir ("0": the writer itself). */
static bool become_member(const void *arg)
{
    char procs[600];
    int fd;

    (void)arg;
    snprintf(procs, sizeof procs, "%s/cgroup.procs", cg_dir);
    fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = write(fd, "0", 1) == 1;
    close(fd);
    return ok;
}

static bool stay(const void *arg)
{
    (void)arg;
    return true;
}

/* How a connection to the server ends when made from the test's cgroup, or from cg_dir with
 * `in_cgroup`. */
static enum sk_end end_from(bool in_cgroup)
{
    return netpeer_greeting_end(in_cgroup ? become_member : stay, NULL, "10.76.0.2", 5432,
                                "10.76.0.1");
}

int main(void)
{
    char mnt[256], own[256];
    struct netpeer srv;
    struct fwp *fw;

    if (!cgroup2_mount(mnt, sizeof mnt) || !own_cgroup(own, sizeof own)) {
        fprintf(stderr, "skip: no cgroup v2 hierarchy here\n");
        return 77;
    }
    if ((size_t)snprintf(cg_path, sizeof cg_path, "%s/finwait-test-%d", strcmp(own, "/") ? own : "",
                         (int)getpid()) >= sizeof cg_path ||
        (size_t)snprintf(cg_dir, sizeof cg_dir, "%s%s", mnt, cg_path) >= sizeof cg_dir) {
        fprintf(stderr, "skip: the cgroup's path is too long\n");
        return 77;
    }
    if (mkdir(cg_dir, 0755) != 0) {
        fprintf(stderr, "skip: cannot make a cgroup (%s: %s)\n", cg_dir, strerror(errno));
        cg_dir[0] = '\0';
        return 77;
    }
    atexit(remove_cgroup);

    netns_enter(2);
    netpeer_start(&srv, 76, greeter, NULL);
    fw = fwp_start("proxies:\n  - name: db\n    listen: :0\n"
                   "    intercept: {ports: [5432], cgroup: %s}\n"
                   "    faults: [{type: rst_instead_of_fin, direction: downstream}]\n",
                   cg_path);
    CHECK(fwp_wait_log(fw, "interception rules: 1 proxy", 5000));
    CHECK_STR(sk_end_name(end_from(true)), "ECONNRESET");
    CHECK(fwp_wait_log(fw, "original_destination=10.76.0.2:5432", 2000));
    CHECK_STR(sk_end_name(end_from(false)), "EOF");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("cgroup: its connection through finwait, the test's own cgroup's untouched");
    netpeer_stop(&srv);
    return 0;
}
