#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sock.h"

static unsigned port_after(const char *log, const char *needle, const char *stop);

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK_MSG(f != NULL, "cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

const char *fwp_tmpfile(int slot, const char *name, const char *text)
{
    static char paths[4][160];
    char dir[64] = "/tmp/fwtest.XXXXXX";

    CHECK(slot >= 0 && slot < 4);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", dir, name);
    write_file(paths[slot], text);
    return paths[slot];
}

char *fwp_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    CHECK_MSG(f, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    CHECK(buf != NULL);
    n = (long)fread(buf, 1, (size_t)n, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

char *fwp_log(struct fwp *fw)
{
    if (access(fw->logpath, R_OK) != 0)
        return strdup("");
    return fwp_slurp(fw->logpath);
}

bool fwp_wait_log(struct fwp *fw, const char *needle, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;

    for (;;) {
        char *log = fwp_log(fw);
        bool found = strstr(log, needle) != NULL;
        free(log);
        if (found)
            return true;
        if (now_ms() >= end)
            return false;
        poll(NULL, 0, 5); /* polling a file: there is no event to wait on */
    }
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

bool fwp_reload(struct fwp *fw, const char *fmt, ...)
{
    char yaml[8192], tmp[160], ok[200];
    int64_t end = now_ms() + 5000;
    int ok0, failed0;
    va_list ap;
    char *log;

    va_start(ap, fmt);
    vsnprintf(yaml, sizeof yaml, fmt, ap);
    va_end(ap);
    snprintf(ok, sizeof ok, "reloaded %s:", fw->cfg);
    log = fwp_log(fw);
    ok0 = count(log, ok);
    failed0 = count(log, "reload failed");
    free(log);
    /* rename: finwait never reads half a file */
    snprintf(tmp, sizeof tmp, "%s.new", fw->cfg);
    write_file(tmp, yaml);
    CHECK(rename(tmp, fw->cfg) == 0);
    CHECK(kill(fw->pid, SIGHUP) == 0);
    for (;;) {
        int oks, fails;
        log = fwp_log(fw);
        oks = count(log, ok);
        fails = count(log, "reload failed");
        free(log);
        if (oks > ok0 || fails > failed0)
            return oks > ok0;
        CHECK_MSG(now_ms() < end, "finwait said nothing of the reload in 5 s");
        poll(NULL, 0, 5);
    }
}

static bool reap(struct fwp *fw, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    int st;

    if (fw->status >= 0)
        return true;
    for (;;) {
        pid_t r = waitpid(fw->pid, &st, WNOHANG);
        if (r == fw->pid) {
            fw->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return true;
        }
        if (now_ms() >= end)
            return false;
        poll(NULL, 0, 5);
    }
}

static void dump_log(struct fwp *fw)
{
    char *log = fwp_log(fw);
    fprintf(stderr, "---- finwait log (%s) ----\n%s---- end of finwait log ----\n", fw->logpath,
            log);
    free(log);
}

/* The finwait processes still running: when a CHECK fails, the test exits without stopping
 * them, and their logs are what explains the failure. */
static struct fwp *live[8];

static void dump_live(void)
{
    for (int i = 0; i < 8; i++)
        if (live[i]) {
            dump_log(live[i]);
            kill(live[i]->pid, SIGKILL);
        }
}

static void track(struct fwp *fw, bool on)
{
    static bool registered;

    if (!registered) {
        atexit(dump_live);
        registered = true;
    }
    for (int i = 0; i < 8; i++)
        if (on ? !live[i] : live[i] == fw) {
            live[i] = on ? fw : NULL;
            return;
        }
}

/* Fork `bin` with argv (stderr to fw->logpath) and wait until its log holds `ready`. */
static void spawn(struct fwp *fw, const char *bin, char *const *argv, const char *ready)
{
    int fd;

    snprintf(fw->logpath, sizeof fw->logpath, "%s/stderr.log", fw->dir);
    fw->status = -1;
    fw->pid = fork();
    CHECK(fw->pid >= 0);
    if (fw->pid == 0) {
        fd = open(fw->logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(127);
        dup2(fd, 2);
        close(fd);
        fd = open("/dev/null", O_RDWR);
        dup2(fd, 0);
        dup2(fd, 1);
        execv(bin, argv);
        _exit(127);
    }
    for (int64_t end = now_ms() + 10000; now_ms() < end;) {
        char *log = fwp_log(fw);
        bool up = strstr(log, ready) != NULL;
        free(log);
        if (up) {
            track(fw, true);
            return;
        }
        if (reap(fw, 0))
            break;
        poll(NULL, 0, 5);
    }
    dump_log(fw);
    CHECK_MSG(0, "finwait did not start (exit status %d)", fw->status);
}

struct fwp *fwp_start(const char *fmt, ...)
{
    struct fwp *fw = calloc(1, sizeof *fw);
    char yaml[8192];
    va_list ap;

    CHECK(fw != NULL);
    va_start(ap, fmt);
    vsnprintf(yaml, sizeof yaml, fmt, ap);
    va_end(ap);
    snprintf(fw->dir, sizeof fw->dir, "/tmp/fwtest.XXXXXX");
    CHECK(mkdtemp(fw->dir) != NULL);
    snprintf(fw->cfg, sizeof fw->cfg, "%s/finwait.yaml", fw->dir);
    write_file(fw->cfg, yaml);
    spawn(fw, FINWAIT_BIN, (char *const[]){"finwait", "-c", fw->cfg, NULL}, "listening");
    return fw;
}

struct fwp *fwp_start_argv(const char *bin, const char *const *args, const char *ready)
{
    struct fwp *fw = calloc(1, sizeof *fw);
    const char *argv[32];
    size_t n = 0;

    CHECK(fw != NULL);
    snprintf(fw->dir, sizeof fw->dir, "/tmp/fwtest.XXXXXX");
    CHECK(mkdtemp(fw->dir) != NULL);
    bin = bin ? bin : FINWAIT_BIN;
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    spawn(fw, bin, (char *const *)argv, ready);
    return fw;
}

uint16_t fwp_admin_port(struct fwp *fw)
{
    int64_t end = now_ms() + 5000;

    for (;;) {
        char *log = fwp_log(fw);
        unsigned port = port_after(log, "admin API (Toxiproxy's) listening on ", " \n");
        free(log);
        if (port)
            return (uint16_t)port;
        if (now_ms() >= end) {
            dump_log(fw);
            return 0;
        }
        poll(NULL, 0, 5);
    }
}

/* The port at the end of the address that follows `needle` in `log` (up to `stop`), or 0. */
static unsigned port_after(const char *log, const char *needle, const char *stop)
{
    const char *p = strstr(log, needle), *e, *colon = NULL;

    if (!p)
        return 0;
    p += strlen(needle);
    e = p + strcspn(p, stop);
    for (const char *q = p; q < e; q++)
        if (*q == ':')
            colon = q;
    return colon ? (unsigned)atoi(colon + 1) : 0;
}

uint16_t fwp_port(struct fwp *fw, const char *name)
{
    char text[160], json[200];
    int64_t end = now_ms() + 5000;

    snprintf(text, sizeof text, " %s: listening on ", name);
    snprintf(json, sizeof json, "\"event\":\"listening\",\"proxy\":\"%s\",\"addr\":\"", name);
    for (;;) {
        char *log = fwp_log(fw);
        unsigned port = port_after(log, text, " \n");
        if (!port)
            port = port_after(log, json, "\"");
        free(log);
        if (port)
            return (uint16_t)port;
        if (now_ms() >= end) {
            dump_log(fw);
            return 0;
        }
        poll(NULL, 0, 5);
    }
}

int fwp_wait_exit(struct fwp *fw, int timeout_ms)
{
    return reap(fw, timeout_ms) ? fw->status : -1;
}

static void rm_dir(const char *dir)
{
    char path[512];
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int fwp_stop(struct fwp *fw, int sig, int timeout_ms)
{
    int rc;

    if (fw->status < 0)
        kill(fw->pid, sig);
    if (!reap(fw, timeout_ms)) {
        kill(fw->pid, SIGKILL);
        reap(fw, 5000);
        dump_log(fw);
        rc = -1;
    } else {
        rc = fw->status;
        if (rc != 0)
            dump_log(fw);
    }
    track(fw, false);
    rm_dir(fw->dir);
    free(fw);
    return rc;
}

long fwp_rss_kib(struct fwp *fw)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", fw->pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    fclose(f);
    return kib;
}

int fwp_fd_count(struct fwp *fw)
{
    char path[64];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof path, "/proc/%d/fd", fw->pid);
    d = opendir(path);
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int fwp_run(const char *const *args, char **out, int timeout_ms)
{
    return fwp_run_bin(NULL, args, out, timeout_ms);
}

int fwp_run_bin(const char *bin, const char *const *args, char **out, int timeout_ms)
{
    char tmpl[] = "/tmp/fwrun.XXXXXX";
    int fd = mkstemp(tmpl), st = 0;
    const char *argv[32];
    size_t n = 0;
    pid_t pid;
    int64_t end = now_ms() + timeout_ms;
    int rc = -1;

    CHECK(fd >= 0);
    bin = bin ? bin : FINWAIT_BIN;
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        if (now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        poll(NULL, 0, 5);
    }
    if (out) {
        off_t len = lseek(fd, 0, SEEK_END);
        *out = calloc(1, (size_t)len + 1);
        CHECK(*out != NULL);
        CHECK(pread(fd, *out, (size_t)len, 0) == len);
    }
    close(fd);
    unlink(tmpl);
    return rc;
}
