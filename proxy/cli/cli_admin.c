#include "proxy/cli/cli_admin.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_admin_base(const char *given, char *buf, size_t len)
{
    const char *url = given;
    size_t n;

    if (!url || !*url)
        url = getenv("FINWAIT_ADMIN");
    if (!url || !*url)
        url = getenv("TOXIPROXY_URL");
    if (!url || !*url)
        url = CLI_ADMIN_DEFAULT_URL;
    snprintf(buf, len, "%s%s", strstr(url, "://") ? "" : "http://", url);
    for (n = strlen(buf); n > 0 && buf[n - 1] == '/'; n--)
        buf[n - 1] = '\0';
}

CURL *cli_admin_handle(const char *what, const char *url, struct curl_slist **headers, char *errbuf)
{
    const char *token = getenv("FINWAIT_TOKEN");
    char ua[64], auth[1100];
    CURL *h = curl_easy_init();

    if (!h)
        return NULL;
    if (token && *token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %.1000s", token);
        *headers = curl_slist_append(*headers, auth);
    }
    snprintf(ua, sizeof ua, "finwait-%s/%s", what, FINWAIT_VERSION);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    return h;
}

#define REQUEST_TIMEOUT_MS 5000

struct body {
    char *data;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    size_t len = size * n;
    char *d = realloc(b->data, b->len + len + 1);

    if (!d)
        return 0;
    memcpy(d + b->len, p, len);
    b->len += len;
    d[b->len] = '\0';
    b->data = d;
    return len;
}

int cli_admin_get(const char *what, const char *base, const char *path, const char *accept,
                  char **out, char *err, size_t len)
{
    char url[2048], hdr[300], curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    struct body resp = {0};
    long status = 0;
    CURLcode cc;
    CURL *h;
    int r = -1;

    *out = NULL;
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(hdr, sizeof hdr, "Accept: %s", accept);
    headers = curl_slist_append(headers, hdr);
    h = cli_admin_handle(what, url, &headers, curl_err);
    if (!h) {
        curl_slist_free_all(headers);
        snprintf(err, len, "out of memory");
        return -1;
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)REQUEST_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        snprintf(err, len, "cannot reach the admin API at %.600s: %.300s", base,
                 curl_err[0] ? curl_err : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        json_t *e = resp.data ? json_loads(resp.data, 0, NULL) : NULL;
        const char *msg = json_string_value(json_object_get(e, "error"));
        snprintf(err, len, "%.600s: HTTP %ld: %.300s", url, status, msg ? msg : "unexpected");
        json_decref(e);
        goto out;
    }
    *out = resp.data ? resp.data : strdup("");
    resp.data = NULL;
    r = *out ? 0 : -1;
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    free(resp.data);
    return r;
}
