#include "prom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "http.h"

#define PARSER FINWAIT_SOURCE_DIR "/tests/lib/prom_parse.py"

/* Run the parser on `text`: its exit status, its stdout in *out (caller frees). */
static int run_parser(const char *text, char **out)
{
    char cmd[512], buf[4096], path[] = "/tmp/fwmetrics.XXXXXX";
    int fd = mkstemp(path);
    size_t len = 0, n;
    FILE *p;
    int st;

    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    /* Debian's python3 is the one python3-prometheus-client is installed for; a python3
     * earlier on PATH (pyenv, a venv) may not have it */
    snprintf(cmd, sizeof cmd, "%s '%s' '%s'",
             access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3", PARSER, path);
    p = popen(cmd, "r");
    CHECK(p != NULL);
    *out = malloc(1);
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        *out = realloc(*out, len + n + 1);
        memcpy(*out + len, buf, n);
        len += n;
    }
    (*out)[len] = '\0';
    st = pclose(p);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool prom_parses(const char *text)
{
    char *out;
    int st = run_parser(text, &out);

    free(out);
    return st == 0;
}

json_t *prom_scrape(uint16_t admin)
{
    struct http_resp r;
    json_t *m;
    char *out;
    int st;

    CHECK_EQ(http_req(admin, "GET", "/metrics", NULL, NULL, &r), 200);
    CHECK_STR(http_header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    st = run_parser(r.body, &out);
    CHECK_MSG(st == 0,
              "Prometheus' parser refused /metrics (exit %d; is python3-prometheus-client "
              "installed? .ci/setup installs it):\n%s",
              st, r.body);
    m = json_loads(out, 0, NULL);
    CHECK_MSG(m && json_is_object(json_object_get(m, "samples")), "parser output: %s", out);
    free(out);
    http_resp_free(&r);
    return m;
}

double prom_get(json_t *m, const char *series)
{
    json_t *v = json_object_get(json_object_get(m, "samples"), series);

    return v ? json_number_value(v) : -1;
}
