#include "evstream.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* One read of what is there within ms: false once the connection ended. */
static bool read_some(struct ev_sub *s, int ms)
{
    struct pollfd p = {s->fd, POLLIN, 0};
    ssize_t n;

    if (s->end)
        return false;
    if (poll(&p, 1, ms) <= 0)
        return true;
    if (s->len + 65536 + 1 > s->cap) {
        s->cap = (s->len + 65536 + 1) * 2;
        s->buf = realloc(s->buf, s->cap);
        CHECK(s->buf);
    }
    n = read(s->fd, s->buf + s->len, s->cap - s->len - 1);
    if (n == 0)
        s->end = SK_EOF;
    else if (n < 0 && errno == ECONNRESET)
        s->end = SK_RESET;
    else if (n < 0)
        s->end = SK_ERROR;
    else
        s->len += (size_t)n;
    s->buf[s->len] = '\0';
    return !s->end;
}

struct ev_sub *ev_try_subscribe(uint16_t admin, const char *query, int rcvbuf, int *status_out)
{
    struct ev_sub *s = calloc(1, sizeof *s);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(admin)};
    char req[512], *sep;
    int64_t end = now_ms() + 5000;
    int status = 0;

    CHECK(s);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(s->fd >= 0);
    if (rcvbuf > 0)
        CHECK(setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0);
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    CHECK_MSG(connect(s->fd, (struct sockaddr *)&sin, sizeof sin) == 0, "connect: %s",
              strerror(errno));
    snprintf(req, sizeof req, "GET /events%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", query);
    CHECK_EQ(sk_write_all(s->fd, req, strlen(req), 2000), 0);
    while (!(sep = s->buf ? strstr(s->buf, "\r\n\r\n") : NULL) && now_ms() < end)
        if (!read_some(s, (int)(end - now_ms())))
            break;
    CHECK_MSG(sep, "no response headers to GET /events%s: %s", query, s->buf ? s->buf : "");
    CHECK_MSG(sscanf(s->buf, "HTTP/1.1 %d", &status) == 1, "%s", s->buf);
    *status_out = status;
    if (status != 200) {
        ev_close(s);
        return NULL;
    }
    CHECK_CONTAINS(s->buf, "Content-Type: application/x-ndjson");
    CHECK_CONTAINS(s->buf, "Transfer-Encoding: chunked");
    /* keep the body only */
    s->len -= (size_t)(sep + 4 - s->buf);
    memmove(s->buf, sep + 4, s->len + 1);
    return s;
}

struct ev_sub *ev_subscribe(uint16_t admin, const char *query, int rcvbuf)
{
    int status;
    struct ev_sub *s = ev_try_subscribe(admin, query, rcvbuf, &status);

    CHECK_MSG(s, "GET /events%s: %d", query, status);
    return s;
}

bool ev_wait(struct ev_sub *s, const char *needle, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;

    while (!(s->buf && strstr(s->buf, needle))) {
        if (now_ms() >= end || !read_some(s, (int)(end - now_ms())))
            return s->buf && strstr(s->buf, needle);
    }
    return true;
}

void ev_read_for(struct ev_sub *s, int ms)
{
    int64_t end = now_ms() + ms;

    while (now_ms() < end && read_some(s, (int)(end - now_ms())))
        ;
}

enum sk_end ev_wait_end(struct ev_sub *s, int timeout_ms)
{
    ev_read_for(s, timeout_ms);
    return s->end ? s->end : SK_TIMEOUT;
}

void ev_close(struct ev_sub *s)
{
    close(s->fd);
    free(s->buf);
    free(s);
}

struct ev_curl {
    pthread_t tid;
    char url[256];
    int timeout_ms;
    char *body;
    size_t len, cap;
    size_t scanned; /* ev_curl_count: body[0, scanned) is counted */
    int found;
    int result;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started; /* the 200's headers arrived, or the request failed */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct ev_curl *c = arg;

    pthread_mutex_lock(&c->mu);
    /* doubling: a reader that copied its whole body on every write would fall behind */
    if (c->len + size * n + 1 > c->cap) {
        c->cap = (c->len + size * n + 1) * 2;
        c->body = realloc(c->body, c->cap);
        CHECK(c->body);
    }
    memcpy(c->body + c->len, p, size * n);
    c->len += size * n;
    c->body[c->len] = '\0';
    pthread_mutex_unlock(&c->mu);
    return size * n;
}

static void mark_started(struct ev_curl *c)
{
    pthread_mutex_lock(&c->mu);
    c->started = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static size_t on_head(char *p, size_t size, size_t n, void *arg)
{
    /* the blank line that ends the headers: subscribed */
    if (size * n == 2 && p[0] == '\r' && p[1] == '\n')
        mark_started(arg);
    return size * n;
}

static void *curl_thread(void *arg)
{
    struct ev_curl *c = arg;
    CURL *h = curl_easy_init();

    CHECK(h);
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    c->result = (int)curl_easy_perform(h);
    curl_easy_cleanup(h);
    mark_started(c);
    return NULL;
}

struct ev_curl *ev_curl_start(uint16_t admin, const char *query, int timeout_ms)
{
    struct ev_curl *c = calloc(1, sizeof *c);

    CHECK(c);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(c->url, sizeof c->url, "http://127.0.0.1:%u/events%s", admin, query);
    c->timeout_ms = timeout_ms;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    CHECK(pthread_create(&c->tid, NULL, curl_thread, c) == 0);
    pthread_mutex_lock(&c->mu);
    while (!c->started)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    return c;
}

int ev_curl_count(struct ev_curl *c, const char *needle)
{
    size_t nl = strlen(needle);
    const char *p;
    int n;

    pthread_mutex_lock(&c->mu);
    /* only what came since the last call: the body grows to megabytes */
    for (p = c->body ? c->body + c->scanned : NULL; p && (p = strstr(p, needle)) != NULL;) {
        c->found++;
        p += nl;
        c->scanned = (size_t)(p - c->body);
    }
    if (c->len >= nl && c->len - nl + 1 > c->scanned)
        c->scanned = c->len - nl + 1; /* a needle cut at the end is found next time */
    n = c->found;
    pthread_mutex_unlock(&c->mu);
    return n;
}

char *ev_curl_finish(struct ev_curl *c, int *curl_result)
{
    char *body;

    pthread_join(c->tid, NULL);
    *curl_result = c->result;
    body = c->body ? c->body : strdup("");
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
    return body;
}
