/* Running the iptables tools and finding finwait's chains: shared by the packet engine and
 * transparent interception. */
#include "proxy/faults/iptables.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

extern char **environ;

/* Where the iptables tools are: a service's PATH often lacks the sbin directories. */
static const char *tool_path(const char *name)
{
    static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"};
    static char path[8][128];
    static int slot;

    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char *p = path[slot];
        snprintf(p, sizeof path[0], "%s/%s", dirs[i], name);
        if (access(p, X_OK) == 0) {
            slot = (slot + 1) % 8;
            return p;
        }
    }
    return NULL;
}

/* Run `argv` with `input` on its stdin; returns its exit status, or -1. Blocking: only at
 * start and exit, never while connections are served. */
int iptables_run(const char *const *argv, const char *input, char *out, size_t outlen)
{
    int in[2], o[2], st;
    pid_t pid;
    posix_spawn_file_actions_t fa;
    size_t got = 0;

    if (pipe(in) != 0)
        return -1;
    if (pipe(o) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, o[1], 1);
    posix_spawn_file_actions_adddup2(&fa, o[1], 2);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, o[0]);
    const char *path = tool_path(argv[0]);
    if (!path || posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        close(in[0]);
        close(in[1]);
        close(o[0]);
        close(o[1]);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(o[1]);
    if (input) {
        size_t len = strlen(input), off = 0;
        while (off < len) {
            ssize_t n = write(in[1], input + off, len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
    }
    close(in[1]);
    for (;;) {
        char tmp[4096];
        ssize_t n = read(o[0], tmp, sizeof tmp);
        if (n <= 0)
            break;
        if (out && got + 1 < outlen) {
            size_t k = (size_t)n < outlen - got - 1 ? (size_t)n : outlen - got - 1;
            memcpy(out + got, tmp, k);
            got += k;
        }
    }
    if (out && outlen)
        out[got] = '\0';
    close(o[0]);
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int iptables_restore(const char *tool, const char *script, char *out, size_t outlen)
{
    const char *argv[] = {tool, "-w", "-n", NULL};
    return iptables_run(argv, script, out, outlen);
}

/* A finwait chain's owner: the pid in its name. */
static long chain_pid(const char *chain)
{
    return strtol(chain + strlen(IPTABLES_CHAIN_PREFIX), NULL, 10);
}

/* True if the process that made `chain` still runs. A pid the kernel gave to another program
 * since does not count: the chain's finwait is gone all the same. */
static bool chain_owner_alive(const char *chain)
{
    long pid = chain_pid(chain);
    char path[64], comm[32] = "";
    FILE *f;

    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
        return false;
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    f = fopen(path, "r");
    if (!f)
        return true; /* no /proc to ask: trust the pid */
    if (!fgets(comm, sizeof comm, f))
        comm[0] = '\0';
    fclose(f);
    return strncmp(comm, "finwait", 7) == 0;
}

static bool is_finwait_chain(const char *name, size_t len)
{
    return len > strlen(IPTABLES_CHAIN_PREFIX) && len < 32 &&
           strncmp(name, IPTABLES_CHAIN_PREFIX, strlen(IPTABLES_CHAIN_PREFIX)) == 0;
}

/* Whatever a dead process managed to undo before it died is handled: a chain whose jump is
 * gone, a jump in a chain other than the built-in ones, a chain in one family only. */
int iptables_remove_chains(bool v6, const char *table, bool all, char *report, size_t reportlen,
                           char *err, size_t errlen)
{
    static char saved[1 << 20], script[1 << 16];
    const char *save_tool = v6 ? "ip6tables-save" : "iptables-save";
    const char *restore_tool = v6 ? "ip6tables-restore" : "iptables-restore";
    const char *argv[] = {save_tool, "-t", table, NULL};
    char chains[256][32], out[1024];
    size_t nchains = 0, len = 0;

    if (iptables_run(argv, NULL, saved, sizeof saved) != 0)
        return 0; /* no such table in this family: nothing of ours either */
    /* the chains to remove: ":FINWAIT-123-OUT - [0:0]" */
    for (char *line = saved; *line;) {
        char *eol = strchr(line, '\n'), *name = line + 1;
        size_t n;

        if (eol)
            *eol = '\0';
        n = strcspn(name, " ");
        if (line[0] == ':' && is_finwait_chain(name, n) && nchains < 256) {
            snprintf(chains[nchains], sizeof chains[0], "%.*s", (int)n, name);
            if (all || !chain_owner_alive(chains[nchains]))
                nchains++;
        }
        if (!eol)
            break;
        *eol = '\n';
        line = eol + 1;
    }
    if (nchains == 0)
        return 0;
    /* every jump to one of them, deleted as saved ("-A OUTPUT -j X" -> "-D OUTPUT -j X"),
     * then the chains themselves: a chain still referenced cannot be deleted */
    len += (size_t)snprintf(script + len, sizeof script - len, "*%s\n", table);
    for (char *line = strtok(saved, "\n"); line; line = strtok(NULL, "\n")) {
        const char *j = strstr(line, " -j ");
        size_t n;
        if (strncmp(line, "-A ", 3) != 0 || !j)
            continue;
        j += 4;
        n = strcspn(j, " ");
        for (size_t i = 0; i < nchains; i++)
            if (strlen(chains[i]) == n && strncmp(j, chains[i], n) == 0 &&
                len < sizeof script - 1) {
                len += (size_t)snprintf(script + len, sizeof script - len, "-D %s\n", line + 3);
                break;
            }
    }
    for (size_t i = 0; i < nchains && len < sizeof script - 1; i++)
        len += (size_t)snprintf(script + len, sizeof script - len, "-F %s\n", chains[i]);
    for (size_t i = 0; i < nchains && len < sizeof script - 1; i++)
        len += (size_t)snprintf(script + len, sizeof script - len, "-X %s\n", chains[i]);
    if (len >= sizeof script - 16) {
        if (err)
            snprintf(err, errlen, "too many old finwait chains for one %s batch", restore_tool);
        return UV_EIO;
    }
    snprintf(script + len, sizeof script - len, "COMMIT\n");
    if (iptables_restore(restore_tool, script, out, sizeof out) != 0) {
        if (err)
            snprintf(err, errlen, "%s could not remove old finwait chains: %s", restore_tool, out);
        return UV_EIO;
    }
    for (size_t i = 0; report && i < nchains; i++) {
        size_t used = strlen(report);
        long pid = chain_pid(chains[i]);
        snprintf(report + used, reportlen - used, "removed %s (%s %s table, finwait pid %ld %s)\n",
                 chains[i], v6 ? "ip6tables" : "iptables", table, pid,
                 chain_owner_alive(chains[i]) ? "still running" : "gone");
    }
    return 0;
}

bool iptables_have_cap_net_admin(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long eff = 0;

    if (!f)
        return false;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %llx", &eff) == 1)
            break;
    fclose(f);
    return eff & (1ull << 12); /* CAP_NET_ADMIN */
}

bool iptables_have_tool(const char *name)
{
    return tool_path(name) != NULL;
}
