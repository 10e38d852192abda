#include "proxy/cli/cli_report.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/cli/cli_admin.h"
#include "proxy/cli/cli_findings.h"
#include "rules/verdict.h"

static const char usage[] = "usage: finwait report [--admin URL] [--junit FILE] [--html FILE]\n";

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Text for XML and HTML: the five characters that could end it or start markup, escaped. */
static void esc(FILE *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", o);
            break;
        case '<':
            fputs("&lt;", o);
            break;
        case '>':
            fputs("&gt;", o);
            break;
        case '"':
            fputs("&quot;", o);
            break;
        case '\'':
            fputs("&#39;", o);
            break;
        default:
            fputc(*s, o);
        }
    }
}

json_t *cli_report_proxies(const char *what, const char *base)
{
    char err[1200], *text;
    json_t *j, *names, *v;
    const char *name;

    if (cli_admin_get(what, base, "/proxies", "application/json", &text, err, sizeof err) != 0) {
        fprintf(stderr, "finwait %s: %s\n", what, err);
        return NULL;
    }
    j = json_loads(text, 0, NULL);
    free(text);
    names = json_array();
    json_object_foreach(j, name, v) json_array_append_new(names, json_string(name));
    json_decref(j);
    return names;
}

/* How the clients coped with finwait's faults, one line per proxy and fault. */
static void coping_print(json_t *coping, FILE *out)
{
    size_t i;
    json_t *c;

    if (json_array_size(coping) == 0)
        return;
    fputs("\nhow the clients coped with finwait's faults:\n", out);
    json_array_foreach(coping, i, c)
        fprintf(out, "  %s: fault %s %s\n", str(c, "proxy"), str(c, "fault"), str(c, "why"));
}

void cli_report_summary(json_t *findings, json_t *coping, FILE *out)
{
    uint64_t app = 0, expected = 0;
    size_t i;
    json_t *f;

    json_array_foreach(findings, i, f)
    {
        uint64_t n = (uint64_t)json_integer_value(json_object_get(f, "count"));
        if (json_is_string(json_object_get(f, "expected")))
            expected += n;
        else
            app += n;
    }
    fprintf(out,
            "finwait teardown verdicts: %llu finding%s of the applications, %llu caused by "
            "finwait's faults (expected)\n\n",
            (unsigned long long)app, app == 1 ? "" : "s", (unsigned long long)expected);
    cli_findings_print(findings, out);
    coping_print(coping, out);
}

/* The findings of proxy p and kind k that are the application's (not expected). */
static void junit_case(FILE *o, const char *p, const char *k, json_t *findings)
{
    size_t i;
    json_t *f;
    bool failed = false;

    fprintf(o, "    <testcase classname=\"finwait.");
    esc(o, p);
    fprintf(o, "\" name=\"%s\">\n", k);
    json_array_foreach(findings, i, f)
    {
        const char *key;
        json_t *v;

        if (strcmp(str(f, "proxy"), p) != 0 || strcmp(str(f, "kind"), k) != 0)
            continue;
        if (json_is_string(json_object_get(f, "expected"))) {
            fprintf(o, "      <system-out>expected (fault ");
            esc(o, str(f, "expected"));
            fprintf(o, "): ");
            esc(o, str(f, "why"));
            fprintf(o, "</system-out>\n");
            continue;
        }
        if (failed)
            continue; /* one failure element per test case */
        failed = true;
        fprintf(o, "      <failure type=\"%s\" message=\"", k);
        esc(o, str(f, "why"));
        fprintf(o, "\">%s side, peer ", str(f, "side"));
        esc(o, str(f, "peer"));
        fprintf(o, ", %lld time(s), connections",
                (long long)json_integer_value(json_object_get(f, "count")));
        json_array_foreach(json_object_get(f, "connections"), i, v)
            fprintf(o, " #%lld", (long long)json_integer_value(v));
        fprintf(o, "; evidence:");
        json_object_foreach(json_object_get(f, "evidence"), key, v)
        {
            fputc(' ', o);
            esc(o, key);
            fprintf(o, "=%.3f", json_number_value(v));
        }
        fprintf(o, "</failure>\n");
    }
    fprintf(o, "    </testcase>\n");
}

/* One test case per proxy whose faults acted: what its clients did, as system-out (how a
 * client copes is for people to judge; a hang is no teardown bug of a --fail-on kind). */
static size_t junit_coping(FILE *o, json_t *proxies, json_t *coping)
{
    size_t i, j, cases = 0;
    json_t *p, *c;

    json_array_foreach(proxies, i, p)
    {
        bool any = false;
        json_array_foreach(coping, j, c)
        {
            if (strcmp(str(c, "proxy"), json_string_value(p)) != 0)
                continue;
            if (!any) {
                fprintf(o, "    <testcase classname=\"finwait.");
                esc(o, json_string_value(p));
                fprintf(o, "\" name=\"faults_coped\">\n      <system-out>");
                any = true;
                cases++;
            }
            fprintf(o, "fault ");
            esc(o, str(c, "fault"));
            fputc(' ', o);
            esc(o, str(c, "why"));
            fputc('\n', o);
        }
        if (any)
            fprintf(o, "</system-out>\n    </testcase>\n");
    }
    return cases;
}

int cli_report_junit(const char *path, json_t *proxies, json_t *findings, json_t *coping)
{
    FILE *o = fopen(path, "w");
    size_t i, failures = 0, coping_cases = 0;
    json_t *p, *f;

    if (!o) {
        fprintf(stderr, "finwait report: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    json_array_foreach(findings, i, f) failures += !json_is_string(json_object_get(f, "expected"));
    fprintf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(o, "<testsuites name=\"finwait\">\n");
    json_array_foreach(proxies, i, p)
    {
        json_t *c;
        size_t j;
        json_array_foreach(coping, j, c) if (strcmp(str(c, "proxy"), json_string_value(p)) == 0)
        {
            coping_cases++;
            break;
        }
    }
    fprintf(o, "  <testsuite name=\"teardown verdicts\" tests=\"%zu\" failures=\"%zu\">\n",
            json_array_size(proxies) * VK_COUNT + coping_cases, failures);
    json_array_foreach(proxies, i, p) for (int k = 0; k < VK_COUNT; k++)
        junit_case(o, json_string_value(p), verdict_kind_name((enum verdict_kind)k), findings);
    junit_coping(o, proxies, coping);
    fprintf(o, "  </testsuite>\n</testsuites>\n");
    if (fclose(o) != 0) {
        fprintf(stderr, "finwait report: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* --- the HTML page --- */

/* One arrow of a sequence diagram: from lane `from` to lane `to` (0 client, 1 finwait,
 * 2 server) at t ms. */
struct arrow {
    double t;
    int from, to;
    char label[48];
    const char *color;
};

#define LANE_X(l)  (90 + (l)*230)
#define ROW_H      30
#define ARROWS_MAX 64

static int arrow_cmp(const void *a, const void *b)
{
    const struct arrow *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

static int add(struct arrow *v, int n, double t, int from, int to, const char *color,
               const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int add(struct arrow *v, int n, double t, int from, int to, const char *color,
               const char *fmt, ...)
{
    va_list ap;

    if (n >= ARROWS_MAX)
        return n;
    v[n] = (struct arrow){.t = t, .from = from, .to = to, .color = color};
    va_start(ap, fmt);
    vsnprintf(v[n].label, sizeof v[n].label, fmt, ap);
    va_end(ap);
    return n + 1;
}

/* The example connection's facts as a sequence diagram, the finding marked at its time. */
static void svg(FILE *o, json_t *f)
{
    static const char *const lanes[3] = {"client", "finwait", "server"};
    static const struct {
        const char *key;
        int leg_out; /* 1: finwait sends (to the leg's peer); 0: it receives */
        const char *label;
        const char *color;
    } ev[] = {
        {"fin_received_ms", 0, "FIN", "#1f5fbf"},
        {"fin_sent_ms", 1, "FIN", "#1f5fbf"},
        {"rst_received_ms", 0, "RST", "#c62828"},
        {"rst_sent_ms", 1, "RST", "#c62828"},
    };
    json_t *facts = json_object_get(f, "facts"), *b;
    struct arrow a[ARROWS_MAX];
    double mark = json_number_value(json_object_get(f, "t_ms"));
    int n = 0, rows, h, marked = -1;
    size_t i;

    if (!json_is_object(facts))
        return;
    json_array_foreach(json_object_get(facts, "bursts"), i, b)
    {
        bool up = strcmp(str(b, "direction"), "upstream") == 0;
        n = add(a, n, json_number_value(json_object_get(b, "first_ms")), up ? 0 : 2, up ? 2 : 0,
                "#555", "%lld B", (long long)json_integer_value(json_object_get(b, "bytes")));
    }
    for (int leg = 0; leg < 2; leg++) {
        json_t *l = json_object_get(json_object_get(facts, "legs"), leg ? "server" : "client");
        int peer = leg ? 2 : 0;
        for (size_t e = 0; e < sizeof ev / sizeof ev[0]; e++) {
            json_t *t = json_object_get(l, ev[e].key);
            if (!json_is_number(t))
                continue;
            n = add(a, n, json_number_value(t), ev[e].leg_out ? 1 : peer, ev[e].leg_out ? peer : 1,
                    ev[e].color, "%s", ev[e].label);
        }
    }
    qsort(a, (size_t)n, sizeof a[0], arrow_cmp);
    for (int k = 0; k < n && marked < 0; k++)
        if (a[k].t > mark)
            marked = k;
    if (marked < 0)
        marked = n;
    rows = n + 1;
    h = 60 + rows * ROW_H + 20;
    fprintf(o,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"620\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n"
            "<defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
            "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
            "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>\n",
            h);
    for (int l = 0; l < 3; l++)
        fprintf(o,
                "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>"
                "<line x1=\"%d\" y1=\"34\" x2=\"%d\" y2=\"%d\" stroke=\"#999\" "
                "stroke-dasharray=\"4 3\"/>\n",
                LANE_X(l), lanes[l], LANE_X(l), LANE_X(l), h - 10);
    for (int k = 0, row = 0; k <= n; k++, row++) {
        int y = 60 + row * ROW_H;
        if (k == marked) {
            fprintf(o,
                    "<line x1=\"20\" y1=\"%d\" x2=\"600\" y2=\"%d\" stroke=\"#d50000\" "
                    "stroke-width=\"2\"/><text x=\"600\" y=\"%d\" text-anchor=\"end\" "
                    "fill=\"#d50000\" font-weight=\"bold\">%s at %.1f ms</text>\n",
                    y - 8, y - 8, y - 12, str(f, "kind"), mark);
            if (k == n)
                break;
            row++;
            y += ROW_H;
        }
        if (k == n)
            break;
        fprintf(o,
                "<text x=\"8\" y=\"%d\" fill=\"#666\">%.1f ms</text>"
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\" "
                "marker-end=\"url(#ah)\"/><text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
                "fill=\"%s\">%s</text>\n",
                y + 4, a[k].t, LANE_X(a[k].from), y, LANE_X(a[k].to), y, a[k].color,
                (LANE_X(a[k].from) + LANE_X(a[k].to)) / 2, y - 5, a[k].color, a[k].label);
    }
    fputs("</svg>\n", o);
}

/* The table of how the clients coped with finwait's faults. */
static void html_coping(FILE *o, json_t *coping)
{
    static const char *const outcomes[] = {"retried", "closed", "hung", "pending"};
    size_t i;
    json_t *c;

    if (json_array_size(coping) == 0)
        return;
    fputs("<h2 id=\"coping\">How the clients coped with finwait's faults</h2>\n"
          "<p>A fault's findings are expected; what the client did next is the application's: "
          "retried on a new connection, closed without retrying (the error surfaced, or its "
          "work was done), or hung (nothing from it after the fault).</p>\n"
          "<table class=\"c\"><tr><th>proxy</th><th>fault</th><th>connections</th>"
          "<th>retried</th><th>closed</th><th>hung</th><th>not decided</th></tr>\n",
          o);
    json_array_foreach(coping, i, c)
    {
        json_t *out = json_object_get(c, "outcomes");
        fputs("<tr><td>", o);
        esc(o, str(c, "proxy"));
        fputs("</td><td>", o);
        esc(o, str(c, "fault"));
        fprintf(o, "</td><td>%lld</td>",
                (long long)json_integer_value(json_object_get(c, "connections")));
        for (size_t k = 0; k < sizeof outcomes / sizeof outcomes[0]; k++) {
            json_t *x = json_object_get(out, outcomes[k]);
            long long n = (long long)json_integer_value(json_object_get(x, "count"));
            fprintf(o, "<td class=\"%s%s\">%lld", outcomes[k], n ? " some" : "", n);
            double lo = json_number_value(json_object_get(x, "min_ms"));
            double hi = json_number_value(json_object_get(x, "max_ms"));
            if (n && strcmp(outcomes[k], "pending") != 0 && hi - lo < 0.05)
                fprintf(o, " <small>(%.1f ms)</small>", lo);
            else if (n && strcmp(outcomes[k], "pending") != 0)
                fprintf(o, " <small>(%.1f&ndash;%.1f ms)</small>", lo, hi);
            fputs("</td>", o);
        }
        fputs("</tr>\n<tr><td></td><td colspan=\"6\"><small>", o);
        esc(o, str(c, "why"));
        fputs("</small></td></tr>\n", o);
    }
    fputs("</table>\n", o);
}

int cli_report_html(const char *path, json_t *findings, json_t *coping)
{
    FILE *o = fopen(path, "w");
    size_t i;
    json_t *f, *v;
    const char *key;
    time_t now = time(NULL);
    char when[64];

    if (!o) {
        fprintf(stderr, "finwait report: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    fprintf(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<title>finwait teardown verdicts</title><style>"
               "body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
               ".f{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1.5em 0}"
               ".f.app h2{color:#b71c1c}.f.exp h2{color:#555}"
               "table{border-collapse:collapse}td{padding:2px 10px 2px 0;vertical-align:top}"
               "table.c th{text-align:left;padding-right:10px}td.hung.some{color:#b71c1c;"
               "font-weight:bold}td.retried.some{color:#2e7d32}"
               "</style></head><body>\n");
    fprintf(o, "<h1>finwait teardown verdicts</h1><p>%zu finding%s, made %s.</p>\n",
            json_array_size(findings), json_array_size(findings) == 1 ? "" : "s", when);
    if (json_array_size(findings) == 0)
        fputs("<p>No findings: every connection ended as a correct application ends it.</p>\n", o);
    html_coping(o, coping);
    json_array_foreach(findings, i, f)
    {
        bool exp = json_is_string(json_object_get(f, "expected"));
        size_t j;

        fprintf(o, "<div class=\"f %s\" id=\"finding-%zu\"><h2>", exp ? "exp" : "app", i + 1);
        esc(o, str(f, "kind"));
        fprintf(o, " &mdash; proxy ");
        esc(o, str(f, "proxy"));
        fprintf(o, ", %s side</h2>\n<p>", str(f, "side"));
        esc(o, str(f, "why"));
        fprintf(o, "</p>\n<table><tr><td>peer</td><td>");
        esc(o, str(f, "peer"));
        fprintf(o, "</td></tr><tr><td>count</td><td>%lld</td></tr><tr><td>connections</td><td>",
                (long long)json_integer_value(json_object_get(f, "count")));
        json_array_foreach(json_object_get(f, "connections"), j, v)
            fprintf(o, "%s#%lld", j ? ", " : "", (long long)json_integer_value(v));
        fprintf(o, "</td></tr>");
        if (exp) {
            json_t *c = json_object_get(f, "coped");
            fprintf(o, "<tr><td>expected</td><td>caused by finwait's fault ");
            esc(o, str(f, "expected"));
            fprintf(o, "</td></tr>");
            if (json_is_object(c))
                fprintf(o, "<tr><td>then the client</td><td>%s (%.1f ms after the fault)</td></tr>",
                        str(c, "outcome"), json_number_value(json_object_get(c, "ms")));
        }
        json_object_foreach(json_object_get(f, "evidence"), key, v)
        {
            fprintf(o, "<tr><td>");
            esc(o, key);
            fprintf(o, "</td><td>%.3f</td></tr>", json_number_value(v));
        }
        fprintf(o, "</table>\n<h3>connection #%lld</h3>\n",
                (long long)json_integer_value(json_object_get(f, "last_connection")));
        svg(o, f);
        fputs("</div>\n", o);
    }
    fputs("</body></html>\n", o);
    if (fclose(o) != 0) {
        fprintf(stderr, "finwait report: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int cli_report_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"admin", required_argument, NULL, 'a'},
        {"junit", required_argument, NULL, 'j'},
        {"html", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *junit = NULL, *html = NULL;
    char base[1024];
    json_t *findings, *proxies = NULL, *coping = NULL;
    int opt, rc = 0;

    optind = 0;
    while ((opt = getopt_long(argc, argv, "a:j:H:h", longs, NULL)) != -1) {
        switch (opt) {
        case 'a':
            url = optarg;
            break;
        case 'j':
            junit = optarg;
            break;
        case 'H':
            html = optarg;
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
    findings = cli_findings_fetch("report", base, NULL, &coping);
    if (findings && junit)
        proxies = cli_report_proxies("report", base);
    curl_global_cleanup();
    if (!findings || (junit && !proxies)) {
        json_decref(findings);
        json_decref(proxies);
        json_decref(coping);
        return 1;
    }
    cli_report_summary(findings, coping, stdout);
    if (junit && cli_report_junit(junit, proxies, findings, coping) != 0)
        rc = 1;
    if (html && cli_report_html(html, findings, coping) != 0)
        rc = 1;
    json_decref(findings);
    json_decref(proxies);
    json_decref(coping);
    return rc;
}
