/*
 * `finwait events`: follow a running finwait's GET /events and print each event as the text
 * line its log prints (proxy/log.c's log_line_text), for a person watching connections live.
 */
#include "proxy/cli/cli_events.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/cli/cli_admin.h"
#include "proxy/admin/events.h"
#include "proxy/log.h"

/* An event's keys beyond the log's own: more would be a different program's stream. */
#define KV_MAX 32
/* A line longer than this is not one of finwait's: the stream is broken. */
#define LINE_MAX_LEN (256 * 1024)

static const char usage[] =
    "usage: finwait events [--admin URL] [--proxy NAME] [--level LEVEL]\n"
    "follow a running finwait's events (GET /events) as the text lines of its log\n"
    "  --admin URL     the admin API (default $FINWAIT_ADMIN, else $TOXIPROXY_URL, else\n"
    "                  " CLI_ADMIN_DEFAULT_URL ")\n"
    "  --proxy NAME    only that proxy's events\n"
    "  --level LEVEL   error, warn, info (default) or debug\n"
    "environment: FINWAIT_TOKEN, sent as 'Authorization: Bearer TOKEN' (admin.token)\n"
    "exit status: 0 when finwait stopped, 1 when the admin API cannot be reached or the\n"
    "stream breaks, 2 bad usage\n";

struct follow {
    long status;      /* the HTTP status, once the body starts */
    char *line;       /* what came since the last newline */
    size_t len;       /* bytes in line */
    char *error_body; /* the body of an answer other than 200 (NUL-terminated) */
    size_t error_len;
    bool broken; /* a line that is not an event: stop */
};

/* One event object as the log's text line. */
static void print_event(json_t *ev)
{
    struct log_kv kv[KV_MAX];
    char *dumped[KV_MAX];
    struct log_line l = {.lvl = LOG_LEVEL_INFO, .kv = kv};
    int ndumped = 0;
    const char *key;
    json_t *v;

    json_object_foreach(ev, key, v)
    {
        const char *s = json_string_value(v);
        if (strcmp(key, "ts") == 0)
            continue;
        if (strcmp(key, "level") == 0 && s)
            log_level_lookup(s, &l.lvl);
        else if (strcmp(key, "event") == 0)
            l.event = s;
        else if (strcmp(key, "proxy") == 0)
            l.proxy = s;
        else if (strcmp(key, "conn") == 0 && json_is_integer(v))
            l.conn = (uint64_t)json_integer_value(v);
        else if (strcmp(key, "t_ms") == 0 && json_is_number(v))
            l.t_ms = json_number_value(v);
        else if (strcmp(key, "leg") == 0)
            l.leg = s;
        else if (strcmp(key, "state") == 0)
            l.state = s;
        else if (strcmp(key, "msg") == 0)
            l.msg = s;
        else if (l.nkv < KV_MAX) {
            struct log_kv *k = &kv[l.nkv++];
            k->key = key;
            k->str = s;
            k->num = 0;
            if (json_is_integer(v) && json_integer_value(v) >= 0)
                k->num = (uint64_t)json_integer_value(v);
            else if (!s && (k->str = dumped[ndumped] = json_dumps(v, JSON_ENCODE_ANY)) != NULL)
                ndumped++;
            else if (!s)
                k->str = "?";
        }
    }
    log_line_text(stdout, &l);
    fflush(stdout);
    while (ndumped)
        free(dumped[--ndumped]);
}

static void on_line(struct follow *f, const char *p, size_t n)
{
    json_t *ev;

    if (n == 0)
        return;
    ev = json_loadb(p, n, 0, NULL);
    if (!json_is_object(ev)) {
        fprintf(stderr, "finwait events: not an event: %.*s\n", (int)(n > 200 ? 200 : n), p);
        f->broken = true;
    } else {
        print_event(ev);
    }
    json_decref(ev);
}

/* Keep what is not a whole line yet; libcurl stops on a short count. */
static bool keep(char **buf, size_t *len, const char *p, size_t n)
{
    char *b;

    if (*len + n > LINE_MAX_LEN)
        return false;
    b = realloc(*buf, *len + n + 1);
    if (!b)
        return false;
    memcpy(b + *len, p, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
    return true;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
    struct follow *f = arg;
    size_t n = size * nmemb, done = 0;
    const char *nl;

    if (f->status != 200)
        return keep(&f->error_body, &f->error_len, p, n) ? n : 0;
    while (!f->broken && (nl = memchr(p + done, '\n', n - done)) != NULL) {
        size_t part = (size_t)(nl - (p + done));
        if (f->len) {
            if (!keep(&f->line, &f->len, p + done, part))
                return 0;
            on_line(f, f->line, f->len);
            f->len = 0;
        } else {
            on_line(f, p + done, part);
        }
        done += part + 1;
    }
    if (f->broken)
        return 0;
    return keep(&f->line, &f->len, p + done, n - done) ? n : 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    struct follow *f = arg;
    int status;

    /* the status line of the final answer; each response starts with one */
    if (size * nmemb > 12 && strncmp(p, "HTTP/", 5) == 0 && sscanf(p, "HTTP/%*s %d", &status) == 1)
        f->status = status;
    return size * nmemb;
}

static int follow(const char *base, const char *proxy, const char *level)
{
    struct follow f = {0};
    struct curl_slist *headers = NULL;
    char url[2048], err[CURL_ERROR_SIZE] = "";
    char *p = proxy ? curl_easy_escape(NULL, proxy, 0) : NULL;
    CURLcode cc;
    CURL *h;
    int rc = 1;

    snprintf(url, sizeof url, "%s/events%s%s%s%s%s", base, p || level ? "?" : "", p ? "proxy=" : "",
             p ? p : "", p && level ? "&" : "", level ? "level=" : "");
    if (level) /* a known level's name: nothing to escape */
        strncat(url, level, sizeof url - strlen(url) - 1);
    curl_free(p);
    h = cli_admin_handle("events", url, &headers, err);
    if (!h) {
        curl_slist_free_all(headers);
        return 1;
    }
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &f);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
    cc = curl_easy_perform(h);
    if (cc == CURLE_OK && f.status == 200) {
        rc = 0; /* the stream's last chunk: finwait stopped */
    } else if (f.status && f.status != 200) {
        json_t *j = f.error_body ? json_loads(f.error_body, 0, NULL) : NULL;
        const char *msg = json_string_value(json_object_get(j, "error"));
        fprintf(stderr, "finwait events: %s: %ld %s\n", url, f.status,
                msg ? msg : (f.error_body ? f.error_body : ""));
        json_decref(j);
    } else if (f.status == 200) {
        if (!f.broken)
            fprintf(stderr,
                    "finwait events: the stream from %s broke: %s (finwait drops a subscriber "
                    "that falls %d bytes behind)\n",
                    url, err[0] ? err : curl_easy_strerror(cc), EVENTS_BUF_MAX);
    } else {
        fprintf(stderr, "finwait events: cannot reach the admin API at %s: %s\n", base,
                err[0] ? err : curl_easy_strerror(cc));
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    free(f.line);
    free(f.error_body);
    return rc;
}

int cli_events_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"admin", required_argument, NULL, 'a'},
        {"proxy", required_argument, NULL, 'p'},
        {"level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *given = NULL, *proxy = NULL, *level = NULL;
    char base[1024];
    enum log_level lv;
    int opt, rc;

    optind = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'a':
            given = optarg;
            break;
        case 'p':
            proxy = optarg;
            break;
        case 'l':
            level = optarg;
            if (!log_level_lookup(level, &lv)) {
                fprintf(stderr,
                        "finwait events: --level %s: expected error, warn, info or "
                        "debug\n",
                        level);
                return 2;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "finwait events: unexpected argument '%s'\n", argv[optind]);
        fputs(usage, stderr);
        return 2;
    }
    cli_admin_base(given, base, sizeof base);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = follow(base, proxy, level);
    curl_global_cleanup();
    return rc;
}
