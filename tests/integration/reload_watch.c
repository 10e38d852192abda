/* finwait reloads its configuration file when the file changes, without a signal: an editor's
 * rename over it, a Kubernetes ConfigMap update (the `..data` symlink swapped), within a
 * bound. A touch of another file reloads nothing; a broken file is refused and the running
 * configuration keeps relaying; --no-watch leaves it to SIGHUP. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "pair.h"
#include "proc.h"
#include "sock.h"

/* The debounce is 200 ms: a reload later than this is a failure. */
#define RELOAD_BOUND_MS 3000
/* How long to wait for a reload that must not come. */
#define QUIET_MS 1000

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK_MSG(f != NULL, "%s: %s", path, strerror(errno));
    fputs(text, f);
    CHECK(fclose(f) == 0);
}

/* As editors save: a new file renamed over the old one. */
static void rename_over(const char *path, const char *text)
{
    char tmp[256];

    snprintf(tmp, sizeof tmp, "%s.swp", path);
    write_file(tmp, text);
    CHECK(rename(tmp, path) == 0);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* True if `needle` occurs n times in the log within timeout_ms; *ms gets how long it took. */
static bool reaches(struct fwp *fw, const char *needle, int n, int timeout_ms, int64_t *ms)
{
    int64_t start = now_ms();

    for (;;) {
        char *log = fwp_log(fw);
        int k = count(log, needle);
        free(log);
        if (ms)
            *ms = now_ms() - start;
        if (k >= n)
            return true;
        if (now_ms() - start >= timeout_ms)
            return false;
        poll(NULL, 0, 5); /* polling a file: there is no event to wait on */
    }
}

static int log_count(struct fwp *fw, const char *needle)
{
    char *log = fwp_log(fw);
    int k = count(log, needle);

    free(log);
    return k;
}

static const char one[] = "proxies:\n  - {name: a, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n";
static const char two[] = "proxies:\n"
                          "  - {name: a, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                          "  - {name: %s, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n";

int main(void)
{
    uint16_t up = 0, pa;
    int lfd = sk_listen("127.0.0.1", &up);
    char yaml[512], done[320], path[256], other[256], k8s[64] = "/tmp/fwtest.XXXXXX";
    struct fwp *fw = fwp_start(one, up);
    int64_t ms;

    pa = fwp_port(fw, "a");
    snprintf(done, sizeof done, "reloaded %s:", fw->cfg);

    /* an editor's save */
    snprintf(yaml, sizeof yaml, two, up, "b", up);
    rename_over(fw->cfg, yaml);
    CHECK(reaches(fw, done, 1, RELOAD_BOUND_MS, &ms));
    fprintf(stderr, "rename-over reloaded in %lld ms\n", (long long)ms);
    sk_relays(lfd, "127.0.0.1", fwp_port(fw, "b"));
    sk_relays(lfd, "127.0.0.1", pa);
    TEST_PASS("a file renamed over the config reloads it, no signal needed");

    /* another file of the directory, and the config touched with the same content */
    snprintf(other, sizeof other, "%s/notes.txt", fw->dir);
    write_file(other, "not a config\n");
    rename_over(fw->cfg, yaml);
    CHECK(!reaches(fw, "changed: reloading", 2, QUIET_MS, NULL));
    CHECK_EQ(log_count(fw, done), 1);
    unlink(other);
    TEST_PASS("another file, or the same content again, reloads nothing");

    /* SIGHUP reads the file: the watcher must not load it a second time (it would drop
     * what the admin API changed since) */
    CHECK(fwp_reload(fw, two, up, "c", up));
    CHECK_EQ(log_count(fw, done), 2);
    CHECK(!reaches(fw, done, 3, QUIET_MS, NULL));
    CHECK_EQ(log_count(fw, "changed: reloading"), 1);
    CHECK(!fwp_reload(fw, "proxies: [\n"));
    CHECK(!reaches(fw, "reload failed", 2, QUIET_MS, NULL));
    CHECK_EQ(log_count(fw, "changed: reloading"), 1);
    TEST_PASS("a SIGHUP reload, good or failed, is not repeated by the watcher");

    /* a broken file: refused with its position, the running configuration keeps relaying */
    rename_over(fw->cfg, "proxies:\n  - {name: a, listen: 127.0.0.1:0, upsteam: x:1}\n");
    CHECK(reaches(fw, "reload failed", 2, RELOAD_BOUND_MS, NULL));
    CHECK(fwp_wait_log(fw, "finwait.yaml:2:36: error: unknown key 'upsteam'", 0));
    sk_relays(lfd, "127.0.0.1", pa);
    sk_relays(lfd, "127.0.0.1", fwp_port(fw, "c"));
    TEST_PASS("a broken file is refused (file:line:col) and the old configuration relays");
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);

    /* a ConfigMap volume: finwait.yaml -> ..data/finwait.yaml, ..data -> ..2026_11_24_a; the
     * kubelet writes ..2026_11_24_b, points ..data_tmp at it, renames it over ..data */
    CHECK(mkdtemp(k8s) != NULL);
    snprintf(path, sizeof path, "%s/..2026_11_24_a", k8s);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/..2026_11_24_a/finwait.yaml", k8s);
    snprintf(yaml, sizeof yaml, one, up);
    write_file(path, yaml);
    snprintf(path, sizeof path, "%s/..data", k8s);
    CHECK(symlink("..2026_11_24_a", path) == 0);
    snprintf(path, sizeof path, "%s/finwait.yaml", k8s);
    CHECK(symlink("..data/finwait.yaml", path) == 0);
    fw = fwp_start_argv(NULL, (const char *[]){"-c", path, NULL}, "listening");
    pa = fwp_port(fw, "a");
    snprintf(done, sizeof done, "reloaded %s:", path);

    snprintf(path, sizeof path, "%s/..2026_11_24_b", k8s);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/..2026_11_24_b/finwait.yaml", k8s);
    snprintf(yaml, sizeof yaml, two, up, "k", up);
    write_file(path, yaml);
    snprintf(path, sizeof path, "%s/..data_tmp", k8s);
    CHECK(symlink("..2026_11_24_b", path) == 0);
    snprintf(other, sizeof other, "%s/..data", k8s);
    CHECK(rename(path, other) == 0);
    snprintf(path, sizeof path, "%s/..2026_11_24_a/finwait.yaml", k8s);
    unlink(path);
    snprintf(path, sizeof path, "%s/..2026_11_24_a", k8s);
    rmdir(path);
    CHECK(reaches(fw, done, 1, RELOAD_BOUND_MS, &ms));
    fprintf(stderr, "ConfigMap swap reloaded in %lld ms\n", (long long)ms);
    sk_relays(lfd, "127.0.0.1", fwp_port(fw, "k"));
    sk_relays(lfd, "127.0.0.1", pa);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    snprintf(path, sizeof path, "%s/..2026_11_24_b/finwait.yaml", k8s);
    unlink(path);
    snprintf(path, sizeof path, "%s/..2026_11_24_b", k8s);
    rmdir(path);
    snprintf(path, sizeof path, "%s/..data", k8s);
    unlink(path);
    snprintf(path, sizeof path, "%s/finwait.yaml", k8s);
    unlink(path);
    rmdir(k8s);
    TEST_PASS("a ConfigMap update (..data symlink swap) reloads the file");

    /* --no-watch: only SIGHUP */
    snprintf(yaml, sizeof yaml, one, up);
    snprintf(path, sizeof path, "%s", fwp_tmpfile(0, "finwait.yaml", yaml));
    fw = fwp_start_argv(NULL, (const char *[]){"--no-watch", "-c", path, NULL}, "listening");
    snprintf(done, sizeof done, "reloaded %s:", path);
    snprintf(yaml, sizeof yaml, two, up, "b", up);
    rename_over(path, yaml);
    CHECK(!reaches(fw, done, 1, QUIET_MS, NULL));
    CHECK(kill(fw->pid, SIGHUP) == 0);
    CHECK(reaches(fw, done, 1, RELOAD_BOUND_MS, NULL));
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    unlink(path);
    *strrchr(path, '/') = '\0';
    rmdir(path);
    TEST_PASS("--no-watch: a change waits for SIGHUP");
    close(lfd);
    return 0;
}
