/*
 * What finwait's own commands that talk to a running finwait (`finwait conns`, `finwait
 * events`) share: where the admin API is, and a libcurl handle that asks it as they do.
 */
#ifndef FINWAIT_PROXY_CLI_ADMIN_H
#define FINWAIT_PROXY_CLI_ADMIN_H

#include <curl/curl.h>
#include <stddef.h>

/* Toxiproxy's address, which its clients assume too. */
#define CLI_ADMIN_DEFAULT_URL "http://127.0.0.1:8474"

/* The admin API's base URL into buf: `given` (--admin), else $FINWAIT_ADMIN, else
 * $TOXIPROXY_URL, else CLI_ADMIN_DEFAULT_URL; "http://" added when the scheme is left out (as
 * Toxiproxy's clients allow), trailing '/' dropped, so that a path can follow. */
void cli_admin_base(const char *given, char *buf, size_t len);

/* A handle for `url`: User-Agent "finwait-WHAT/VERSION", no signals (the commands handle
 * SIGINT themselves), errors into errbuf (CURL_ERROR_SIZE), and `headers` (may be NULL) plus the
 * bearer token of $FINWAIT_TOKEN, appended to *headers, which the caller frees with
 * curl_slist_free_all after the handle. NULL when out of memory. */
CURL *cli_admin_handle(const char *what, const char *url, struct curl_slist **headers,
                       char *errbuf);

/*
 * GET base+path with `accept` (as finwait-WHAT); the body in *out (the caller frees). 0, or -1
 * with a one-line reason in err: the API's own error message for an error status, curl's when
 * no answer came.
 */
int cli_admin_get(const char *what, const char *base, const char *path, const char *accept,
                  char **out, char *err, size_t len);

#endif
