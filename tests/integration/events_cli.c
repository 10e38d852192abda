/* finwait events: a running finwait's events as the very text lines its log prints; exit 0
 * when finwait stops; a one-line error and exit 1 when the admin API cannot be reached. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = calloc(1, 1 << 20);

    CHECK(f && s);
    fread(s, 1, (1 << 20) - 1, f);
    fclose(f);
    return s;
}

/* Wait for pid's exit within ms: its exit status, or -1 (then it is killed). */
static int wait_exit(pid_t pid, int ms)
{
    int st;

    for (int64_t end = now_ms() + ms; now_ms() < end; usleep(10000))
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* One proxied connection, closed by both sides, client first. */
static void half_close(uint16_t port, int lfd)
{
    int c, s;

    sk_pair(NULL, "127.0.0.1", port, lfd, &c, &s);
    sk_shut_wr(c);
    CHECK_STR(sk_end_name(sk_read_until_end(s, 3000, false, 0).end), "EOF");
    close(s);
    CHECK_STR(sk_end_name(sk_read_until_end(c, 3000, false, 0).end), "EOF");
    close(c);
}

int main(void)
{
    uint16_t up = 0, dead = 0, admin, port;
    int lfd = sk_listen("127.0.0.1", &up), dfd = sk_listen("127.0.0.1", &dead), n = 0;
    struct fwp *fw = fwp_start("admin: {listen: 127.0.0.1:0}\n"
                               "proxies:\n"
                               "  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                               up);
    char url[64], out_path[] = "/tmp/fw-events-cli.XXXXXX", *out, *log, *line, *save = NULL;
    char closed[64], *at;
    bool seen = false;
    int64_t end;
    pid_t pid;
    int fd, rc;

    close(dfd); /* a port nobody listens on */
    admin = http_admin_port(fw);
    port = fwp_port(fw, "t");
    snprintf(url, sizeof url, "http://127.0.0.1:%u", admin);
    fd = mkstemp(out_path);
    CHECK(fd >= 0);

    /* the URL from $FINWAIT_ADMIN, over $TOXIPROXY_URL */
    setenv("FINWAIT_ADMIN", url, 1);
    setenv("TOXIPROXY_URL", "http://127.0.0.1:1", 1);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execl(FINWAIT_BIN, "finwait", "events", "--proxy", "t", (char *)NULL);
        _exit(127);
    }
    close(fd);

    /* connections until the follower shows one (it subscribes on its own time, maybe in the
     * middle of one), then one more: the k-th connection is t#k, all of it followed */
    for (end = now_ms() + 10000; now_ms() < end;) {
        half_close(port, lfd);
        n++;
        out = slurp(out_path);
        seen = strstr(out, "connection closed bytes_up=0 bytes_down=0") != NULL;
        free(out);
        if (seen)
            break;
        usleep(50000);
    }
    CHECK_MSG(seen, "the follower printed no connection in 10 s");
    half_close(port, lfd);
    n++;
    snprintf(closed, sizeof closed, "finwait: t#%d +", n);
    for (seen = false, end = now_ms() + 5000; !seen && now_ms() < end; usleep(20000)) {
        out = slurp(out_path);
        at = strstr(out, closed);
        seen = at && strstr(at, "connection closed");
        free(out);
    }
    CHECK_MSG(seen, "the follower did not print t#%d's close", n);
    /* the follower's lines so far, then the log: a line is logged before it is streamed */
    out = slurp(out_path);
    log = fwp_log(fw);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    rc = wait_exit(pid, 5000);
    CHECK_EQ(rc, 0);
    TEST_PASS("finwait events follows, and exits 0 when finwait stops");

    fprintf(stderr, "after %d connection(s):\n%s", n, out);
    at = strstr(out, closed);
    CHECK_CONTAINS(at, " client: accepted [ESTABLISHED] client=127.0.0.1:");
    CHECK_CONTAINS(at, " client: FIN received [CLOSE_WAIT]");
    CHECK_CONTAINS(at, " server: FIN sent");
    CHECK_CONTAINS(at, " connection closed bytes_up=0 bytes_down=0");
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        CHECK_MSG(strncmp(line, "finwait: t#", 11) == 0, "not a connection line: %s", line);
        CHECK_MSG(strstr(log, line), "not a line of the log: %s", line);
    }
    TEST_PASS("its lines are the log's text lines");
    free(out);
    free(log);
    unlink(out_path);

    /* unreachable: one line, exit 1 */
    unsetenv("FINWAIT_ADMIN");
    snprintf(url, sizeof url, "http://127.0.0.1:%u", dead);
    setenv("TOXIPROXY_URL", url, 1);
    rc = fwp_run((const char *const[]){"events", NULL}, &out, 10000);
    CHECK_EQ(rc, 1);
    CHECK_CONTAINS(out, "finwait events: cannot reach the admin API at ");
    CHECK_CONTAINS(out, url);
    CHECK_EQ(strchr(out, '\n') - out + 1, (long)strlen(out));
    free(out);
    TEST_PASS("an unreachable admin API: one line, exit 1");
    close(lfd);
    return 0;
}
