#include "proxy/cli/cli_findings.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/cli/cli_admin.h"

static const char usage[] =
    "usage: finwait findings [--admin URL] [--proxy NAME] [--kind KIND] [--side client|server] "
    "[--json]\n";

json_t *cli_findings_fetch(const char *what, const char *base, const char *query, json_t **coping)
{
    char path[1200], err[1200], *text;
    json_t *j, *list;

    snprintf(path, sizeof path, "/findings%s%s", query && *query ? "?" : "", query ? query : "");
    if (cli_admin_get(what, base, path, "application/json", &text, err, sizeof err) != 0) {
        fprintf(stderr, "finwait %s: %s\n", what, err);
        return NULL;
    }
    j = json_loads(text, 0, NULL);
    free(text);
    list = json_incref(json_object_get(j, "findings"));
    if (coping) {
        *coping = json_incref(json_object_get(j, "coping"));
        if (!*coping)
            *coping = json_array(); /* a finwait from before coping was judged */
    }
    json_decref(j);
    if (!json_is_array(list)) {
        json_decref(list);
        if (coping) {
            json_decref(*coping);
            *coping = NULL;
        }
        fprintf(stderr, "finwait %s: %s/findings: no findings array in the answer\n", what, base);
        return NULL;
    }
    return list;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : "-";
}

void cli_findings_print(json_t *list, FILE *out)
{
    size_t i, j;
    json_t *f, *id;

    if (json_array_size(list) == 0) {
        fputs("(no findings)\n", out);
        return;
    }
    fprintf(out, "%-12s %-22s %-6s %6s  %-22s %-14s %s\n", "PROXY", "KIND", "SIDE", "COUNT", "PEER",
            "EXPECTED", "CONNECTIONS");
    json_array_foreach(list, i, f)
    {
        fprintf(out, "%-12s %-22s %-6s %6lld  %-22s %-14s ", str(f, "proxy"), str(f, "kind"),
                str(f, "side"), (long long)json_integer_value(json_object_get(f, "count")),
                str(f, "peer"), str(f, "expected"));
        json_array_foreach(json_object_get(f, "connections"), j, id)
            fprintf(out, "%s#%lld", j ? "," : "", (long long)json_integer_value(id));
        fprintf(out, "\n    %s\n", str(f, "why"));
        if (json_is_object(json_object_get(f, "coped"))) {
            json_t *c = json_object_get(f, "coped");
            fprintf(out, "    the client, after the fault: %s (%.1f ms)\n", str(c, "outcome"),
                    json_number_value(json_object_get(c, "ms")));
        }
    }
}

int cli_findings_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"admin", required_argument, NULL, 'a'},
        {"proxy", required_argument, NULL, 'p'},
        {"kind", required_argument, NULL, 'k'},
        {"side", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *filter[3] = {NULL, NULL, NULL};
    static const char *const keys[3] = {"proxy", "kind", "side"};
    char base[1024], query[1024] = "";
    bool as_json = false;
    json_t *list;
    int opt;

    optind = 0;
    while ((opt = getopt_long(argc, argv, "a:p:k:s:jh", longs, NULL)) != -1) {
        switch (opt) {
        case 'a':
            url = optarg;
            break;
        case 'p':
            filter[0] = optarg;
            break;
        case 'k':
            filter[1] = optarg;
            break;
        case 's':
            filter[2] = optarg;
            break;
        case 'j':
            as_json = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return 2;
    }
    cli_admin_base(url, base, sizeof base);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int i = 0; i < 3; i++) {
        char *e = filter[i] ? curl_easy_escape(NULL, filter[i], 0) : NULL;
        if (e)
            snprintf(query + strlen(query), sizeof query - strlen(query), "%s%s=%s",
                     query[0] ? "&" : "", keys[i], e);
        curl_free(e);
    }
    list = cli_findings_fetch("findings", base, query, NULL);
    curl_global_cleanup();
    if (!list)
        return 1;
    if (as_json) {
        char *s = json_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
    } else {
        cli_findings_print(list, stdout);
    }
    json_decref(list);
    return 0;
}
