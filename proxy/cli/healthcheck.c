/* finwait-healthcheck: the container image's HEALTHCHECK. One GET of the admin API's /version;
 * exit 0 on a 200, else 1 with one line on stderr saying why (podman and Docker keep it in the
 * container's health log).
 *
 *   finwait-healthcheck [URL]      default $FINWAIT_HEALTH_URL, else http://127.0.0.1:8474/version
 *
 * $FINWAIT_TOKEN, when set, is sent as the bearer token, as `finwait conns` does: an API with a
 * token stays checkable. A program of its own rather than curl: the image carries no shell and
 * Debian's curl would bring a second libcurl; this one links the libcurl finwait links. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_URL "http://127.0.0.1:8474/version"

/* The body is not needed: the status says whether the API answers. */
static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : getenv("FINWAIT_HEALTH_URL");
    const char *token = getenv("FINWAIT_TOKEN");
    struct curl_slist *headers = NULL;
    char auth[512];
    long status = 0;
    CURLcode rc;
    CURL *h;

    if (!url || !*url)
        url = DEFAULT_URL;
    if (curl_global_init(CURL_GLOBAL_NOTHING) != 0 || !(h = curl_easy_init())) {
        fprintf(stderr, "finwait-healthcheck: cannot start libcurl\n");
        return 1;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* a container's HTTP_PROXY is not for loopback */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "finwait-healthcheck");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    if (token && *token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    }
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    if (rc != CURLE_OK) {
        fprintf(stderr, "finwait-healthcheck: %s: %s\n", url, curl_easy_strerror(rc));
        return 1;
    }
    if (status != 200) {
        fprintf(stderr, "finwait-healthcheck: %s: HTTP %ld%s\n", url, status,
                status == 401 ? " (set FINWAIT_TOKEN to the API's token)" : "");
        return 1;
    }
    return 0;
}
