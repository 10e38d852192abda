#include "proxy/cli/cli_admin.h"

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
