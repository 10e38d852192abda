#include "proxy/cli/cli_toxiproxy.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_URL "http://localhost:8474"
/* Toxiproxy's client gives a request 30 s. */
#define REQUEST_TIMEOUT_MS 30000
#define ATTRS_MAX          32

/* toxiproxy-cli's colours, only on a terminal. */
#define RED    "\x1b[31m"
#define GREEN  "\x1b[32m"
#define YELLOW "\x1b[33m"
#define BLUE   "\x1b[34m"
#define PURPLE "\x1b[35m"
#define NONE   "\x1b[0m"

struct cli {
    char *base; /* the API's URL, without a trailing slash */
    bool tty;   /* stdout is a terminal: colours, headers and hints, as toxiproxy-cli */
};

/* A command's failure: the message (its own trailing newline included, as toxiproxy-cli's)
 * goes to stderr followed by a newline, and the exit status is 1. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static const char *col(const struct cli *c, const char *colour)
{
    return c->tty ? colour : "";
}

/* --- HTTP --- */

struct body {
    char *data;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    char *d = realloc(b->data, b->len + size * n + 1);

    if (!d)
        return 0;
    memcpy(d + b->len, p, size * n);
    b->len += size * n;
    d[b->len] = '\0';
    b->data = d;
    return size * n;
}

/* Go's name of a method in its errors: "Get", "Post". */
static void go_method(const char *method, char *out, size_t len)
{
    snprintf(out, len, "%c", method[0]);
    for (size_t i = 1; method[i] && i + 1 < len; i++)
        snprintf(out + i, len - i, "%c", method[i] - 'A' + 'a');
}

/*
 * `method` the API's `path` with `body` (or NULL). Returns 0 for a 2xx answer (*out gets its
 * JSON, or NULL when it has none), or -1 with toxiproxy-cli's text for the failure in `err`:
 * "HTTP 404: proxy not found" from the API's error body, or "fail to request: ..." when no
 * answer came.
 */
static int request(const struct cli *c, const char *method, const char *path, json_t *body,
                   json_t **out, char *err, size_t len)
{
    char url[2048], ua[64], curl_err[CURL_ERROR_SIZE] = "", m[16];
    struct curl_slist *headers = NULL;
    struct body resp = {0};
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    CURL *h = curl_easy_init();
    long status = 0;
    int r = -1;
    CURLcode cc;

    if (out)
        *out = NULL;
    if (!h || (body && !text)) {
        snprintf(err, len, "out of memory");
        goto out;
    }
    snprintf(url, sizeof url, "%s%s", c->base, path);
    snprintf(ua, sizeof ua, "toxiproxy-cli/finwait-%s", FINWAIT_VERSION);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)REQUEST_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    if (text) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    }
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        go_method(method, m, sizeof m);
        snprintf(err, len, "fail to request: %s \"%.600s\": %.300s", m, url,
                 curl_err[0] ? curl_err : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
        json_t *e = resp.data ? json_loads(resp.data, 0, NULL) : NULL;
        const char *msg = json_string_value(json_object_get(e, "error"));
        if (msg)
            snprintf(err, len, "HTTP %ld: %s", status, msg);
        else
            snprintf(err, len, "HTTP %ld: Unexpected response code %ld", status, status);
        json_decref(e);
        goto out;
    }
    if (out && resp.len)
        *out = json_loads(resp.data, 0, NULL);
    r = 0;
out:
    curl_slist_free_all(headers);
    if (h)
        curl_easy_cleanup(h);
    free(text);
    free(resp.data);
    return r;
}

/* "/proxies/NAME" and "/proxies/NAME/toxics[/TOXIC]" with the names escaped. */
static void proxy_path(char *out, size_t len, const char *proxy, const char *toxics,
                       const char *toxic)
{
    char *p = curl_easy_escape(NULL, proxy, 0),
         *t = toxic ? curl_easy_escape(NULL, toxic, 0) : NULL;

    snprintf(out, len, "/proxies/%s%s%s%s", p ? p : "", toxics ? toxics : "", t ? "/" : "",
             t ? t : "");
    curl_free(p);
    curl_free(t);
}

/* --- output --- */

/* A JSON value as Go's fmt.Print shows what encoding/json decoded: numbers are float64. */
static void print_value(json_t *v)
{
    char buf[64];

    if (json_is_string(v)) {
        fputs(json_string_value(v), stdout);
    } else if (json_is_number(v)) {
        double d = json_number_value(v);
        /* %v: the shortest form that reads back, exponent only from 1e21 or below 1e-4 */
        if (d == floor(d) && fabs(d) < 1e21) {
            printf("%.0f", d);
            return;
        }
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
        fputs(buf, stdout);
    } else if (json_is_boolean(v)) {
        fputs(json_is_true(v) ? "true" : "false", stdout);
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(s ? s : "", stdout);
        free(s);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object's keys, sorted (the caller frees the array, not the keys). */
static const char **sorted_keys(json_t *o, size_t *n)
{
    const char **keys = calloc(json_object_size(o) + 1, sizeof *keys), *k;
    json_t *v;

    *n = 0;
    if (!keys)
        return NULL;
    json_object_foreach(o, k, v) keys[(*n)++] = k;
    qsort(keys, *n, sizeof *keys, cmp_str);
    return keys;
}

static void hint(const struct cli *c, const char *m)
{
    if (c->tty)
        printf("\n%sHint: %s\n", NONE, m);
}

/* A column of toxiproxy-cli's table: on a terminal, padded with tabs to `tabs` stops. */
static void print_width(const struct cli *c, const char *colour, const char *m, int tabs)
{
    tabs = c->tty ? tabs - (int)(strlen(m) / 8 + 1) : 0;
    printf("%s%s%s\t", col(c, colour), m, col(c, NONE));
    for (int i = 0; i < tabs; i++)
        putchar('\t');
}

/* Inspect's sections: "Upstream" holds the upstream toxics, "Downstream" the others. */
static bool in_section(json_t *t, const char *section)
{
    const char *s = json_string_value(json_object_get(t, "stream"));

    return (s && strcmp(s, "upstream") == 0) == (strcmp(section, "Upstream") == 0);
}

/* The toxics (of one section on a terminal, else all), one line each. */
static void list_toxics(const struct cli *c, json_t *toxics, const char *section)
{
    size_t i, n = 0;
    json_t *t;

    if (c->tty) {
        printf("%s%s toxics:\n%s", GREEN, section, NONE);
        json_array_foreach(toxics, i, t) n += in_section(t, section);
        if (n == 0) {
            printf("%sProxy has no %s toxics enabled.\n%s", RED, section, NONE);
            return;
        }
    }
    json_array_foreach(toxics, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        json_t *attrs = json_object_get(t, "attributes");
        const char **keys;
        size_t nk;

        if (c->tty && !in_section(t, section))
            continue;
        if (c->tty)
            printf("%s%s:%s\t", BLUE, name ? name : "", NONE);
        else
            printf("%s\t", name ? name : "");
        printf("type=%s\t", json_string_value(json_object_get(t, "type")) ?: "");
        printf("stream=%s\t", json_string_value(json_object_get(t, "stream")) ?: "");
        printf("toxicity=%.2f\t", json_number_value(json_object_get(t, "toxicity")));
        printf("attributes=[");
        keys = sorted_keys(attrs, &nk);
        for (size_t k = 0; keys && k < nk; k++) {
            printf("\t%s=", keys[k]);
            print_value(json_object_get(attrs, keys[k]));
        }
        free(keys);
        printf("\t]\n");
    }
}

/* --- commands --- */

/* A proxy's name, the first argument after the flags; prints the command's usage when none. */
static const char *proxy_arg(int argc, char **argv, const char *usage)
{
    if (optind < argc)
        return argv[optind];
    printf("usage: %s\n", usage);
    return NULL;
}

/* A command's flags. Returns the option, -1 at the end, or '?' (getopt printed why). */
static int next_opt(int argc, char **argv, const char *shorts, const struct option *longs)
{
    return getopt_long_only(argc, argv, shorts, longs, NULL);
}

/* A command that takes no flags: fails (1) on any. */
static int no_flags(int argc, char **argv, const char *usage)
{
    static const struct option none[] = {{NULL, 0, NULL, 0}};

    if (next_opt(argc, argv, "", none) != -1)
        return fail("Incorrect Usage: %s", usage);
    return 0;
}

static int cmd_list(struct cli *c, int argc, char **argv)
{
    char err[1024];
    json_t *all;
    const char **names;
    size_t n;

    if (no_flags(argc, argv, "toxiproxy-cli list") != 0)
        return 1;
    if (request(c, "GET", "/proxies", NULL, &all, err, sizeof err) < 0)
        return fail("Failed to retrieve proxies: %s", err);
    names = sorted_keys(all, &n);
    if (c->tty) {
        printf("%sName\t\t\t%sListen\t\t%sUpstream\t\t%sEnabled\t\t%sToxics\n%s", GREEN, BLUE,
               YELLOW, PURPLE, RED, NONE);
        printf("%s======================================================================"
               "================\n",
               NONE);
        if (n == 0) {
            printf("%sno proxies\n%s", RED, NONE);
            hint(c, "create a proxy with `toxiproxy-cli create`");
            free(names);
            json_decref(all);
            return 0;
        }
    }
    for (size_t i = 0; names && i < n; i++) {
        json_t *p = json_object_get(all, names[i]);
        bool enabled = json_is_true(json_object_get(p, "enabled"));
        size_t ntox = json_array_size(json_object_get(p, "toxics"));
        char count[32];

        if (ntox == 0 && c->tty)
            snprintf(count, sizeof count, "None");
        else
            snprintf(count, sizeof count, "%zu", ntox);
        print_width(c, enabled ? GREEN : RED, json_string_value(json_object_get(p, "name")) ?: "",
                    3);
        print_width(c, BLUE, json_string_value(json_object_get(p, "listen")) ?: "", 2);
        print_width(c, YELLOW, json_string_value(json_object_get(p, "upstream")) ?: "", 3);
        print_width(c, PURPLE, enabled ? "enabled" : "disabled", 2);
        printf("%s%s%s\n", col(c, RED), count, col(c, NONE));
    }
    hint(c, "inspect toxics with `toxiproxy-cli inspect <proxyName>`");
    free(names);
    json_decref(all);
    return 0;
}

static int cmd_inspect(struct cli *c, int argc, char **argv)
{
    static const char usage[] = "toxiproxy-cli inspect <proxyName>";
    const char *name;
    char err[1024], path[1024];
    json_t *p, *toxics;

    if (no_flags(argc, argv, usage) != 0)
        return 1;
    name = proxy_arg(argc, argv, usage);
    if (!name)
        return fail("Proxy name is required as the first argument.\n");
    proxy_path(path, sizeof path, name, NULL, NULL);
    if (request(c, "GET", path, NULL, &p, err, sizeof err) < 0)
        return fail("Failed to retrieve proxy %s: %s\n", name, err);
    toxics = json_object_get(p, "toxics");
    if (c->tty) {
        printf("%sName: %s%s\t", PURPLE, NONE, json_string_value(json_object_get(p, "name")) ?: "");
        printf("%sListen: %s%s\t", BLUE, NONE,
               json_string_value(json_object_get(p, "listen")) ?: "");
        printf("%sUpstream: %s%s\n", YELLOW, NONE,
               json_string_value(json_object_get(p, "upstream")) ?: "");
        printf("%s======================================================================\n", NONE);
        if (json_array_size(toxics) == 0) {
            printf("%sProxy has no toxics enabled.\n%s", RED, NONE);
        } else {
            list_toxics(c, toxics, "Upstream");
            putchar('\n');
            list_toxics(c, toxics, "Downstream");
        }
        hint(c, "add a toxic with `toxiproxy-cli toxic add`");
    } else {
        list_toxics(c, toxics, "");
    }
    json_decref(p);
    return 0;
}

static int cmd_create(struct cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        {"listen", required_argument, NULL, 'l'},
        {"upstream", required_argument, NULL, 'u'},
        {NULL, 0, NULL, 0},
    };
    static const char usage[] =
        "toxiproxy-cli create --listen <addr> --upstream <addr> <proxyName>";
    const char *listen = NULL, *upstream = NULL, *name;
    char err[1024];
    json_t *body;
    int opt, r;

    while ((opt = next_opt(argc, argv, "l:u:", longs)) != -1) {
        if (opt == 'l')
            listen = optarg;
        else if (opt == 'u')
            upstream = optarg;
        else
            return fail("Incorrect Usage: %s", usage);
    }
    name = proxy_arg(argc, argv, usage);
    if (!name)
        return fail("Proxy name is required as the first argument.\n");
    if (!listen || !*listen || !upstream || !*upstream) {
        printf("usage: %s\n", usage);
        return fail("Required argument '%s' was empty.\n",
                    !listen || !*listen ? "listen" : "upstream");
    }
    body = json_pack("{s:s,s:s,s:s,s:b}", "name", name, "listen", listen, "upstream", upstream,
                     "enabled", 1);
    r = request(c, "POST", "/proxies", body, NULL, err, sizeof err);
    json_decref(body);
    if (r < 0)
        return fail("Failed to create proxy: create: %s\n", err);
    printf("Created new proxy %s\n", name);
    return 0;
}

static int cmd_toggle(struct cli *c, int argc, char **argv)
{
    static const char usage[] = "toxiproxy-cli toggle <proxyName>";
    const char *name;
    char err[1024], path[1024];
    json_t *p, *body;
    bool enabled;
    int r;

    if (no_flags(argc, argv, usage) != 0)
        return 1;
    name = proxy_arg(argc, argv, usage);
    if (!name)
        return fail("Proxy name is required as the first argument.\n");
    proxy_path(path, sizeof path, name, NULL, NULL);
    if (request(c, "GET", path, NULL, &p, err, sizeof err) < 0)
        return fail("Failed to retrieve proxy %s: %s\n", name, err);
    enabled = !json_is_true(json_object_get(p, "enabled"));
    json_decref(p);
    body = json_pack("{s:b}", "enabled", enabled);
    r = request(c, "POST", path, body, NULL, err, sizeof err);
    json_decref(body);
    if (r < 0)
        return fail("Failed to toggle proxy %s: %s\n", name, err);
    printf("Proxy %s%s%s is now %s%s%s\n", col(c, enabled ? GREEN : RED), name, col(c, NONE),
           col(c, enabled ? GREEN : RED), enabled ? "enabled" : "disabled", col(c, NONE));
    return 0;
}

static int cmd_delete(struct cli *c, int argc, char **argv)
{
    static const char usage[] = "toxiproxy-cli delete <proxyName>";
    const char *name;
    char err[1024], path[1024];

    if (no_flags(argc, argv, usage) != 0)
        return 1;
    name = proxy_arg(argc, argv, usage);
    if (!name)
        return fail("Proxy name is required as the first argument.\n");
    proxy_path(path, sizeof path, name, NULL, NULL);
    if (request(c, "GET", path, NULL, NULL, err, sizeof err) < 0)
        return fail("Failed to retrieve proxy %s: %s\n", name, err);
    if (request(c, "DELETE", path, NULL, NULL, err, sizeof err) < 0)
        return fail("Failed to delete proxy: Delete: %s\n", err);
    printf("Deleted proxy %s\n", name);
    return 0;
}

/* The flags of `toxic add|update|remove`. */
struct toxic_args {
    const char *proxy;
    const char *name;
    const char *type;
    const char *toxicity;
    const char *attrs[ATTRS_MAX];
    size_t nattrs;
    bool upstream, downstream;
};

static const char toxic_usage[] =
    "toxiproxy-cli toxic add --type <toxicType> [--downstream|--upstream] --toxicName "
    "<toxicName> [--toxicity <float>] --attribute <key=value> [--attribute <key2=value2>] "
    "<proxyName>\n"
    "       toxiproxy-cli toxic update --toxicName <toxicName> [--toxicity <float>] "
    "--attribute <key1=value1> [--attribute <key2=value2>] <proxyName>\n"
    "       toxiproxy-cli toxic remove --toxicName <toxicName> <proxyName>";

static int toxic_parse(int argc, char **argv, struct toxic_args *t)
{
    static const struct option longs[] = {
        {"toxicName", required_argument, NULL, 'n'}, {"type", required_argument, NULL, 't'},
        {"toxicity", required_argument, NULL, 'x'},  {"tox", required_argument, NULL, 'x'},
        {"attribute", required_argument, NULL, 'a'}, {"upstream", no_argument, NULL, 'u'},
        {"downstream", no_argument, NULL, 'd'},      {NULL, 0, NULL, 0},
    };
    int opt;

    memset(t, 0, sizeof *t);
    while ((opt = next_opt(argc, argv, "n:t:a:ud", longs)) != -1) {
        switch (opt) {
        case 'n':
            t->name = optarg;
            break;
        case 't':
            t->type = optarg;
            break;
        case 'x':
            t->toxicity = optarg;
            break;
        case 'a':
            if (t->nattrs == ATTRS_MAX)
                return fail("at most %d attributes", ATTRS_MAX);
            t->attrs[t->nattrs++] = optarg;
            break;
        case 'u':
            t->upstream = true;
            break;
        case 'd':
            t->downstream = true;
            break;
        default:
            return fail("Incorrect Usage: %s", toxic_usage);
        }
    }
    t->proxy = proxy_arg(argc, argv, toxic_usage);
    if (!t->proxy)
        return fail("Proxy name is missing.\n");
    if (!t->name)
        t->name = "";
    return 0;
}

/* --toxicity, default 1. */
static int toxicity(const struct toxic_args *t, double *out)
{
    char *end;

    *out = 1.0;
    if (!t->toxicity || !*t->toxicity)
        return 0;
    errno = 0;
    *out = strtod(t->toxicity, &end);
    if (*end || errno || !(*out >= 0 && *out <= 1))
        return fail("toxicity should be a float between 0 and 1.\n");
    return 0;
}

/* -a key=value: a number when it reads as one (as Toxiproxy's ParseFloat), else a string. */
static json_t *attributes(const struct toxic_args *t)
{
    json_t *o = json_object();

    for (size_t i = 0; i < t->nattrs; i++) {
        const char *eq = strchr(t->attrs[i], '=');
        char key[256], *end;
        double d;

        if (!eq || (size_t)(eq - t->attrs[i]) >= sizeof key)
            continue;
        memcpy(key, t->attrs[i], (size_t)(eq - t->attrs[i]));
        key[eq - t->attrs[i]] = '\0';
        errno = 0;
        d = strtod(eq + 1, &end);
        if (eq[1] && !*end && !errno)
            json_object_set_new(o, key,
                                d == floor(d) && fabs(d) < 9e15 ? json_integer((json_int_t)d)
                                                                : json_real(d));
        else
            json_object_set_new(o, key, json_string(eq + 1));
    }
    return o;
}

static int toxic_add(struct cli *c, int argc, char **argv)
{
    struct toxic_args t;
    char err[1024], path[1024];
    json_t *body, *res;
    double tox;
    int r;

    if (toxic_parse(argc, argv, &t) != 0)
        return 1;
    if (!t.type || !*t.type) {
        printf("usage: %s\n", toxic_usage);
        return fail("Required argument 'type' was empty.\n");
    }
    if (t.upstream && t.downstream)
        return fail("Only one should be specified: upstream or downstream.\n");
    if (toxicity(&t, &tox) != 0)
        return 1;
    proxy_path(path, sizeof path, t.proxy, NULL, NULL);
    if (request(c, "GET", path, NULL, NULL, err, sizeof err) < 0)
        return fail("Failed to add toxic: failed to retrieve proxy with name `%s`: %s\n", t.proxy,
                    err);
    body = json_pack("{s:s,s:s,s:f,s:o}", "type", t.type, "stream",
                     t.upstream ? "upstream" : "downstream", "toxicity", tox, "attributes",
                     attributes(&t));
    /* an empty name is Toxiproxy's TYPE_STREAM: left for the server to choose */
    if (*t.name)
        json_object_set_new(body, "name", json_string(t.name));
    proxy_path(path, sizeof path, t.proxy, "/toxics", NULL);
    r = request(c, "POST", path, body, &res, err, sizeof err);
    json_decref(body);
    if (r < 0)
        return fail("Failed to add toxic: failed to add toxic to proxy %s: AddToxic: %s\n", t.proxy,
                    err);
    printf("Added %s %s toxic '%s' on proxy '%s'\n",
           json_string_value(json_object_get(res, "stream")) ?: "",
           json_string_value(json_object_get(res, "type")) ?: "",
           json_string_value(json_object_get(res, "name")) ?: "", t.proxy);
    json_decref(res);
    return 0;
}

static int toxic_update(struct cli *c, int argc, char **argv)
{
    struct toxic_args t;
    char err[1024], path[1024];
    json_t *body, *res;
    double tox;
    int r;

    if (toxic_parse(argc, argv, &t) != 0 || toxicity(&t, &tox) != 0)
        return 1;
    proxy_path(path, sizeof path, t.proxy, NULL, NULL);
    if (request(c, "GET", path, NULL, NULL, err, sizeof err) < 0)
        return fail("Failed to update toxic: failed to retrieve proxy with name `%s`: %s\n",
                    t.proxy, err);
    /* toxiproxy-cli always sends a toxicity: 1 unless --toxicity says otherwise */
    body = json_pack("{s:o,s:f}", "attributes", attributes(&t), "toxicity", tox);
    proxy_path(path, sizeof path, t.proxy, "/toxics", t.name);
    r = request(c, "PATCH", path, body, &res, err, sizeof err);
    json_decref(body);
    if (r < 0)
        return fail("Failed to update toxic: failed to update toxic '%s' of proxy '%s': %s\n",
                    t.name, t.proxy, err);
    printf("Updated toxic '%s' on proxy '%s'\n",
           json_string_value(json_object_get(res, "name")) ?: t.name, t.proxy);
    json_decref(res);
    return 0;
}

static int toxic_remove(struct cli *c, int argc, char **argv)
{
    struct toxic_args t;
    char err[1024], path[1024];

    if (toxic_parse(argc, argv, &t) != 0)
        return 1;
    proxy_path(path, sizeof path, t.proxy, NULL, NULL);
    if (request(c, "GET", path, NULL, NULL, err, sizeof err) < 0)
        return fail("Failed to remove toxic: failed to retrieve proxy with name `%s`: %s\n",
                    t.proxy, err);
    proxy_path(path, sizeof path, t.proxy, "/toxics", t.name);
    if (request(c, "DELETE", path, NULL, NULL, err, sizeof err) < 0)
        return fail("Failed to remove toxic: failed to remove toxic '%s' from proxy '%s': %s\n",
                    t.name, t.proxy, err);
    printf("Removed toxic '%s' on proxy '%s'\n", t.name, t.proxy);
    return 0;
}

struct command {
    const char *name;
    const char *aliases[4];
    int (*run)(struct cli *c, int argc, char **argv);
    const char *help;
};

static const struct command toxic_commands[] = {
    {"add", {"a"}, toxic_add, "add a new toxic"},
    {"update", {"u"}, toxic_update, "update an enabled toxic"},
    {"remove", {"r", "delete", "d"}, toxic_remove, "remove an enabled toxic"},
};

static int cmd_toxic(struct cli *c, int argc, char **argv);

static const struct command commands[] = {
    {"list", {"l", "li", "ls"}, cmd_list, "list all proxies"},
    {"inspect", {"i", "ins"}, cmd_inspect, "inspect a single proxy: inspect <proxyName>"},
    {"create",
     {"c", "new"},
     cmd_create,
     "create a new proxy: create --listen <addr> --upstream <addr> <proxyName>"},
    {"toggle", {"tog"}, cmd_toggle, "toggle enabled status on a proxy: toggle <proxyName>"},
    {"delete", {"d"}, cmd_delete, "delete a proxy: delete <proxyName>"},
    {"toxic", {"t"}, cmd_toxic, "add, remove or update a toxic (see 'toxic')"},
};

static const struct command *find(const struct command *cmds, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
        for (size_t j = 0; j < 4 && cmds[i].aliases[j]; j++)
            if (strcmp(cmds[i].aliases[j], name) == 0)
                return &cmds[i];
    }
    return NULL;
}

static void print_commands(const struct command *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char names[64];
        size_t len = (size_t)snprintf(names, sizeof names, "%s", cmds[i].name);
        for (size_t j = 0; j < 4 && cmds[i].aliases[j]; j++)
            len += (size_t)snprintf(names + len, sizeof names - len, ", %s", cmds[i].aliases[j]);
        printf("   %-22s %s\n", names, cmds[i].help);
    }
}

static int cmd_toxic(struct cli *c, int argc, char **argv)
{
    const struct command *sub;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        printf("usage: toxiproxy-cli toxic COMMAND [flags] <proxyName>\n\ncommands:\n");
        print_commands(toxic_commands, sizeof toxic_commands / sizeof toxic_commands[0]);
        printf("\n  %s\n\n  toxics: latency (latency=<ms>,jitter=<ms>), bandwidth (rate=<KB/s>),\n"
               "  slow_close (delay=<ms>), timeout (timeout=<ms>), reset_peer (timeout=<ms>),\n"
               "  slicer (average_size=<bytes>,size_variation=<bytes>,delay=<microseconds>),\n"
               "  limit_data (bytes=<bytes>), and finwait's faults (see the README)\n",
               toxic_usage);
        return 0;
    }
    sub = find(toxic_commands, sizeof toxic_commands / sizeof toxic_commands[0], argv[1]);
    if (!sub) {
        fprintf(stderr, "No help topic for '%s'\n", argv[1]);
        return 3;
    }
    optind = 0;
    return sub->run(c, argc - 1, argv + 1);
}

static void app_help(void)
{
    printf("NAME:\n   toxiproxy-cli - Simulate network and system conditions (finwait %s)\n\n"
           "USAGE:\n   toxiproxy-cli [-h URL] COMMAND [flags] [arguments...]\n\n"
           "COMMANDS:\n",
           FINWAIT_VERSION);
    print_commands(commands, sizeof commands / sizeof commands[0]);
    printf("\nGLOBAL OPTIONS:\n"
           "   --host URL, -h URL  toxiproxy host to connect to (default: \"%s\") "
           "[$TOXIPROXY_URL]\n"
           "   --help              show help\n"
           "   --version, -v       print the version\n",
           DEFAULT_URL);
}

int cli_toxiproxy_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"host", required_argument, NULL, 'h'},
        {"help", no_argument, NULL, 'H'},
        {"version", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    const char *url = getenv("TOXIPROXY_URL"), *prefix = "";
    const struct command *cmd;
    struct cli c = {0};
    size_t len;
    int opt, rc;

    if (!url || !*url)
        url = DEFAULT_URL;
    optind = 0;
    /* "+": the options before the command are the program's, the rest the command's */
    while ((opt = getopt_long_only(argc, argv, "+h:v", longs, NULL)) != -1) {
        switch (opt) {
        case 'h':
            url = optarg;
            break;
        case 'H':
            app_help();
            return 0;
        case 'v':
            printf("toxiproxy-cli version %s (finwait)\n", FINWAIT_VERSION);
            return 0;
        default:
            return fail("Incorrect Usage: toxiproxy-cli [-h URL] COMMAND [flags] [arguments...]");
        }
    }
    if (optind >= argc || strcmp(argv[optind], "help") == 0) {
        app_help();
        return 0;
    }
    cmd = find(commands, sizeof commands / sizeof commands[0], argv[optind]);
    if (!cmd) {
        fprintf(stderr, "No help topic for '%s'\n", argv[optind]);
        return 3;
    }
    /* Toxiproxy's client adds the scheme when it is missing */
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        prefix = "http://";
    len = strlen(prefix) + strlen(url) + 1;
    c.base = malloc(len);
    if (!c.base)
        return fail("out of memory");
    snprintf(c.base, len, "%s%s", prefix, url);
    for (size_t n = strlen(c.base); n > 0 && c.base[n - 1] == '/'; n--)
        c.base[n - 1] = '\0';
    c.tty = isatty(STDOUT_FILENO);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    argc -= optind;
    argv += optind;
    optind = 0;
    rc = cmd->run(&c, argc, argv);
    curl_global_cleanup();
    free(c.base);
    return rc;
}
