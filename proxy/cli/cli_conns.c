#include "proxy/cli/cli_conns.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/cli/cli_admin.h"

#define WATCH_INTERVAL_MS 1000

static const char usage[] = "usage: finwait conns [--admin URL] [--watch]\n"
                            "       finwait conns [--admin URL] PROXY ID\n";

static void bytes_text(char *buf, size_t len, json_int_t n)
{
    if (n >= 10ll << 20)
        snprintf(buf, len, "%lldM", (long long)(n >> 20));
    else if (n >= 10ll << 10)
        snprintf(buf, len, "%lldK", (long long)(n >> 10));
    else
        snprintf(buf, len, "%lld", (long long)n);
}

static void age_text(char *buf, size_t len, json_int_t ms)
{
    if (ms < 60000)
        snprintf(buf, len, "%.1fs", (double)ms / 1000);
    else if (ms < 3600000)
        snprintf(buf, len, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    else
        snprintf(buf, len, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static json_int_t num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* One row per connection, columns as ss: who, the state of each of finwait's two sockets,
 * bytes each way, what the faults are doing, age. */
static void print_table(json_t *conns)
{
    size_t i;
    json_t *c;

    printf("%-12s %5s %-22s %-22s %-11s %-11s %7s %7s %8s  %s\n", "PROXY", "ID", "CLIENT",
           "UPSTREAM", "CLIENT-LEG", "SERVER-LEG", "UP", "DOWN", "AGE", "FAULTS");
    json_array_foreach(conns, i, c)
    {
        json_t *legs = json_object_get(c, "legs"), *bytes = json_object_get(c, "bytes");
        json_t *faults = json_object_get(c, "faults"), *f;
        char up[32], down[32], age[32];
        size_t j;

        bytes_text(up, sizeof up, num(bytes, "upstream"));
        bytes_text(down, sizeof down, num(bytes, "downstream"));
        age_text(age, sizeof age, num(c, "age_ms"));
        printf("%-12s %5lld %-22s %-22s %-11s %-11s %7s %7s %8s  ", str(c, "proxy"),
               (long long)num(c, "id"), str(c, "client"), str(c, "upstream"),
               str(json_object_get(legs, "client"), "state"),
               str(json_object_get(legs, "server"), "state"), up, down, age);
        json_array_foreach(faults, j, f)
            printf("%s%s (%s)", j ? ", " : "", str(f, "name"), str(f, "state"));
        printf("%s\n", json_array_size(faults) ? "" : "-");
    }
    if (json_array_size(conns) == 0)
        printf("(no open connections)\n");
    fflush(stdout);
}

static int show_table(const char *base, bool clear)
{
    char err[1200], *text;
    json_t *conns;

    if (cli_admin_get("conns", base, "/connections", "application/json", &text, err, sizeof err) !=
        0) {
        fprintf(stderr, "finwait conns: %s\n", err);
        return 1;
    }
    conns = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_array(conns)) {
        json_decref(conns);
        fprintf(stderr, "finwait conns: %s/connections: not a JSON array\n", base);
        return 1;
    }
    if (clear)
        fputs("\033[H\033[2J", stdout);
    print_table(conns);
    json_decref(conns);
    return 0;
}

static int show_timeline(const char *base, const char *proxy, const char *id)
{
    char path[1024], err[1200], *text;
    char *p = curl_easy_escape(NULL, proxy, 0), *i = curl_easy_escape(NULL, id, 0);
    int r;

    if (!p || !i) {
        curl_free(p);
        curl_free(i);
        fprintf(stderr, "finwait conns: out of memory\n");
        return 1;
    }
    snprintf(path, sizeof path, "/proxies/%s/connections/%s", p, i);
    curl_free(p);
    curl_free(i);
    r = cli_admin_get("conns", base, path, "text/plain", &text, err, sizeof err);
    if (r != 0) {
        fprintf(stderr, "finwait conns: %s\n", err);
        return 1;
    }
    fputs(text, stdout);
    free(text);
    return 0;
}

int cli_conns_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"admin", required_argument, NULL, 'a'},
        {"watch", no_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL;
    bool watch = false;
    char base[1024];
    int opt, rc;

    optind = 0;
    while ((opt = getopt_long(argc, argv, "a:wh", longs, NULL)) != -1) {
        switch (opt) {
        case 'a':
            url = optarg;
            break;
        case 'w':
            watch = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (!(argc - optind == 0 || (argc - optind == 2 && !watch))) {
        fputs(usage, stderr);
        return 2;
    }
    cli_admin_base(url, base, sizeof base);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc - optind == 2)
        rc = show_timeline(base, argv[optind], argv[optind + 1]);
    else if (!watch)
        rc = show_table(base, false);
    else
        /* until interrupted (SIGINT ends the process) or the API stops answering */
        while ((rc = show_table(base, isatty(STDOUT_FILENO))) == 0)
            poll(NULL, 0, WATCH_INTERVAL_MS);
    curl_global_cleanup();
    return rc;
}
