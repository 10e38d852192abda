#include "proxy/cli/cli_run.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proxy/cli/cli_admin.h"
#include "proxy/cli/cli_findings.h"
#include "proxy/cli/cli_report.h"
#include "rules/verdict.h"

#define READY_TIMEOUT_MS  10000 /* finwait's admin API answers (its proxies listen) */
#define SETTLE_TIMEOUT_MS 2000  /* the command's last connections end at finwait */
#define STOP_TIMEOUT_MS   10000 /* finwait stops after SIGTERM */

static const char usage[] =
    "usage: finwait run [-c FILE] [--fail-on KIND,...|all] [--report DIR] -- COMMAND [ARG...]\n";

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000}, NULL);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A free loopback port for the admin API (the kernel's choice; finwait binds it next). */
static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* The --fail-on list into a bit per kind; false after printing what is wrong. */
static bool parse_fail_on(const char *list, unsigned *out)
{
    char buf[512], *save = NULL;

    if (strcmp(list, "all") == 0) {
        *out = (1u << VK_COUNT) - 1;
        return true;
    }
    snprintf(buf, sizeof buf, "%s", list);
    for (char *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        enum verdict_kind v;
        if (!verdict_kind_lookup(k, &v)) {
            fprintf(stderr,
                    "finwait run: --fail-on: unknown kind '%s' (expected all or a list of: "
                    "peer_keeps_closed, close_wait_leak, request_into_closed, answer_lost, "
                    "half_close_ignored, abandoned, time_wait_pressure, client_timeout_shorter)\n",
                    k);
            return false;
        }
        *out |= 1u << v;
    }
    return true;
}

static pid_t spawn(char *const *argv, const char *log)
{
    pid_t pid = fork();

    if (pid != 0)
        return pid;
    if (log) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
        }
    }
    execv(argv[0], argv);
    fprintf(stderr, "finwait run: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* The exit status of pid as a shell gives it (128 + signal). -1: not within timeout_ms. */
static int wait_exit(pid_t pid, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    int st;

    for (;;) {
        pid_t r = waitpid(pid, &st, timeout_ms < 0 ? 0 : WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 && errno != EINTR)
            return -1;
        if (timeout_ms >= 0 && mono_ms() >= end)
            return -1;
        if (timeout_ms >= 0)
            sleep_ms(20);
    }
}

/* Ask the admin API until it answers 200 on `path`, or finwait exits, or time runs out. */
static bool wait_ready(const char *base, pid_t fw)
{
    int64_t end = mono_ms() + READY_TIMEOUT_MS;
    char err[1200], *text;

    while (mono_ms() < end) {
        if (cli_admin_get("run", base, "/proxies", "application/json", &text, err, sizeof err) ==
            0) {
            free(text);
            return true;
        }
        if (waitpid(fw, NULL, WNOHANG) == fw)
            return false;
        sleep_ms(50);
    }
    return false;
}

/* The command's connections end at finwait a moment after it exits: wait (bounded) until no
 * connection is open, so their verdicts are made. */
static void settle(const char *base)
{
    int64_t end = mono_ms() + SETTLE_TIMEOUT_MS;
    char err[1200], *text;

    while (mono_ms() < end) {
        json_t *j;
        bool empty;
        if (cli_admin_get("run", base, "/connections", "application/json", &text, err,
                          sizeof err) != 0)
            return;
        j = json_loads(text, 0, NULL);
        free(text);
        empty = json_is_array(j) && json_array_size(j) == 0;
        json_decref(j);
        if (empty)
            return;
        sleep_ms(50);
    }
}

static int write_reports(const char *dir, json_t *proxies, json_t *findings, json_t *coping)
{
    char path[4096];
    int rc = 0;
    FILE *f;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "finwait run: cannot make %s: %s\n", dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/findings.json", dir);
    f = fopen(path, "w");
    json_t *all = json_pack("{s:O,s:O}", "findings", findings, "coping", coping);
    if (!f || !all || json_dumpf(all, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        fprintf(stderr, "finwait run: cannot write %s\n", path);
        rc = -1;
    }
    json_decref(all);
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/junit.xml", dir);
    if (cli_report_junit(path, proxies, findings, coping) != 0)
        rc = -1;
    snprintf(path, sizeof path, "%s/report.html", dir);
    if (cli_report_html(path, findings, coping) != 0)
        rc = -1;
    return rc;
}

/* True if `findings` holds one of the applications' (not expected) of a kind in `mask`. */
static bool failing(json_t *findings, unsigned mask)
{
    size_t i;
    json_t *f;

    json_array_foreach(findings, i, f)
    {
        enum verdict_kind k;
        if (json_is_string(json_object_get(f, "expected")) ||
            !verdict_kind_lookup(json_string_value(json_object_get(f, "kind")), &k))
            continue;
        if (mask & (1u << k))
            return true;
    }
    return false;
}

int cli_run_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'},
        {"fail-on", required_argument, NULL, 'f'},
        {"report", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *report = NULL;
    unsigned fail_on = 0;
    char self[4096], admin[64], base[128], log[4096];
    char *fw_argv[8];
    int opt, port, n = 0, status, stopped;
    pid_t fw, cmd;
    json_t *findings = NULL, *proxies = NULL, *coping = NULL;
    ssize_t len;

    optind = 0;
    /* '+': options end at the first non-option, the command */
    while ((opt = getopt_long(argc, argv, "+c:f:r:h", longs, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'f':
            if (!parse_fail_on(optarg, &fail_on))
                return 2;
            break;
        case 'r':
            report = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fputs("finwait run: no command to run (put it after --)\n", stderr);
        fputs(usage, stderr);
        return 2;
    }
    len = readlink("/proc/self/exe", self, sizeof self - 1);
    port = free_port();
    if (len <= 0 || port < 0) {
        fprintf(stderr, "finwait run: cannot find its own binary or a free port\n");
        return CLI_RUN_NOT_STARTED;
    }
    self[len] = '\0';
    snprintf(admin, sizeof admin, "127.0.0.1:%d", port);
    snprintf(base, sizeof base, "http://%s", admin);
    fw_argv[n++] = self;
    if (config) {
        fw_argv[n++] = "-c";
        fw_argv[n++] = (char *)config;
    }
    fw_argv[n++] = "--admin";
    fw_argv[n++] = admin;
    fw_argv[n] = NULL;
    if (report) {
        if (mkdir(report, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "finwait run: cannot make %s: %s\n", report, strerror(errno));
            return 2;
        }
        snprintf(log, sizeof log, "%s/finwait.log", report);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    fw = spawn(fw_argv, report ? log : NULL);
    if (fw < 0 || !wait_ready(base, fw)) {
        fprintf(stderr, "finwait run: finwait did not start%s%s\n", report ? ", see " : "",
                report ? log : "");
        if (fw > 0) {
            kill(fw, SIGKILL);
            waitpid(fw, NULL, 0);
        }
        curl_global_cleanup();
        return CLI_RUN_NOT_STARTED;
    }
    setenv("FINWAIT_ADMIN", base, 1);
    setenv("TOXIPROXY_URL", base, 1);
    if (argv[optind][0] != '/' && !strchr(argv[optind], '/')) {
        /* a bare name: through the shell's PATH search, as env(1) does */
        cmd = fork();
        if (cmd == 0) {
            execvp(argv[optind], argv + optind);
            fprintf(stderr, "finwait run: cannot run %s: %s\n", argv[optind], strerror(errno));
            _exit(127);
        }
    } else {
        cmd = spawn(argv + optind, NULL);
    }
    status = cmd > 0 ? wait_exit(cmd, -1) : 127;

    settle(base);
    /* the command is over: a client that closed will not come back to retry */
    findings = cli_findings_fetch("run", base, "final=true", &coping);
    proxies = cli_report_proxies("run", base);
    kill(fw, SIGTERM);
    stopped = wait_exit(fw, STOP_TIMEOUT_MS);
    if (stopped < 0) {
        fprintf(stderr, "finwait run: finwait did not stop within %d s: killed\n",
                STOP_TIMEOUT_MS / 1000);
        kill(fw, SIGKILL);
        waitpid(fw, NULL, 0);
    }
    curl_global_cleanup();
    if (findings) {
        cli_report_summary(findings, coping, stderr);
        if (report && proxies)
            write_reports(report, proxies, findings, coping);
        if (failing(findings, fail_on)) {
            fprintf(stderr,
                    "finwait run: findings of a --fail-on kind: exit status %d (the "
                    "command's was %d)\n",
                    CLI_RUN_FINDINGS, status);
            status = CLI_RUN_FINDINGS;
        }
    }
    json_decref(findings);
    json_decref(proxies);
    json_decref(coping);
    return status;
}
