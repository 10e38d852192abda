/*
 * The admin API's requests, without HTTP: who may ask (User-Agent, Host, token), routing, and
 * the change each request makes to the running configuration. proxy/admin/admin.c feeds it what
 * libmicrohttpd read from a socket; tests/fuzz/fuzz_admin.c feeds it bytes directly.
 *
 * Every change is made to a copy of the running configuration (as a JSON document in
 * finwait's YAML schema), validated by the same loader as a file, and applied with
 * server_reload(): a bad request changes nothing and says why.
 */
#ifndef FINWAIT_PROXY_ADMIN_API_H
#define FINWAIT_PROXY_ADMIN_API_H

#include <stddef.h>

struct admin_api;
struct server;

/* One request as the HTTP layer read it. Headers are NULL when absent. */
struct admin_request {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* percent-decoded, without the query string */
    const char *user_agent;    /* User-Agent */
    const char *host;          /* Host */
    const char *authorization; /* Authorization */
    const char *accept;        /* Accept */
    const char *body;          /* may hold NULs: body_len says how long it is */
    size_t body_len;
    /* The query string's argument `key` (decoded), NULL when absent; the HTTP layer parses
     * the query, so that no hand-written parser sits here. `arg` may be NULL: no query. */
    const char *(*arg)(const struct admin_request *rq, const char *key);
    void *http; /* the HTTP layer's request, for arg */
};

/* rq's query argument `key`, or NULL. */
static inline const char *admin_request_arg(const struct admin_request *rq, const char *key)
{
    return rq->arg ? rq->arg(rq, key) : NULL;
}

struct events_sub;

/* The answer: a status and a body in the named type (NULL body: none, as for 204). */
struct admin_response {
    unsigned status;
    const char *content_type; /* static string */
    char *body;               /* malloc'd, freed by admin_response_free */
    size_t body_len;
    /* GET /events: the body is this subscriber's stream of lines, for the HTTP layer to send
     * as they come (proxy/admin/admin_stream.c) after taking it (setting this to NULL);
     * admin_response_free ends a stream nobody took. */
    struct events_sub *stream;
};

/* Largest request body read: a proxy, a toxic, or a /populate list of proxies. */
#define ADMIN_BODY_MAX (64 * 1024)

/* Take the running configuration of srv as the API's starting point. Returns 0 or UV_ENOMEM. */
int admin_api_new(struct admin_api **out, struct server *srv);
void admin_api_free(struct admin_api *api);
/* The configuration file was reloaded (SIGHUP): it is the API's starting point again. */
void admin_api_file_reloaded(struct admin_api *api);
/* Answer one request, applying its change to the server. Never fails: errors are responses. */
void admin_api_handle(struct admin_api *api, const struct admin_request *rq,
                      struct admin_response *out);
void admin_response_free(struct admin_response *r);

#endif
