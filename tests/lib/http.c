#include "http.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "check.h"
#include "sock.h"

uint16_t http_admin_port(struct fwp *fw)
{
    const char *needle = "admin API (Toxiproxy's) listening on 127.0.0.1:";
    char *log, *at;
    uint16_t port;

    CHECK(fwp_wait_log(fw, needle, 5000));
    log = fwp_log(fw);
    at = strstr(log, needle);
    port = (uint16_t)atoi(at + strlen(needle));
    free(log);
    return port;
}

int http_req(uint16_t port, const char *method, const char *path, const char *headers,
             const char *body, struct http_resp *out)
{
    size_t blen = body ? strlen(body) : 0, cap = 65536, len = 0;
    size_t hlen = strlen(method) + strlen(path) + (headers ? strlen(headers) : 0) + 200;
    char *req = malloc(hlen + blen), *resp = malloc(cap), *sep;
    int fd = sk_connect("127.0.0.1", port, 2000);
    int64_t deadline = now_ms() + 10000;

    memset(out, 0, sizeof *out);
    CHECK_MSG(fd >= 0, "connect to the admin API: %s", strerror(errno));
    snprintf(req, hlen,
             "%s %s HTTP/1.1\r\n%sConnection: close\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             method, path, headers ? headers : "Host: 127.0.0.1\r\n", blen);
    hlen = strlen(req);
    memcpy(req + hlen, body ? body : "", blen);
    /* the server may answer and close before it read everything (a body refused unread) */
    (void)sk_write_all(fd, req, hlen + blen, 5000);
    free(req);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (now_ms() >= deadline || poll(&p, 1, (int)(deadline - now_ms())) <= 0)
            break;
        if (len + 1 == cap)
            resp = realloc(resp, cap *= 2);
        ssize_t n = read(fd, resp + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    resp[len] = '\0';
    close(fd);
    if (sscanf(resp, "HTTP/1.%*d %d", &out->status) != 1)
        out->status = 0;
    sep = strstr(resp, "\r\n\r\n");
    out->head = strndup(resp, sep ? (size_t)(sep - resp) : len);
    out->body = strdup(sep ? sep + 4 : "");
    free(resp);
    if (out->body[0])
        out->json = json_loads(out->body, 0, NULL);
    return out->status;
}

const char *http_header(const struct http_resp *r, const char *name)
{
    static char value[512];
    size_t n = strlen(name);

    for (const char *l = strstr(r->head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':') {
            const char *v = l + 3 + n, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(value, sizeof value, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
            return value;
        }
    }
    return NULL;
}

void http_resp_free(struct http_resp *r)
{
    free(r->head);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

int http_json(uint16_t port, const char *method, const char *path, const char *body, json_t **out)
{
    struct http_resp r;
    int status = http_req(port, method, path, NULL, body, &r);

    if (out) {
        *out = r.json;
        r.json = NULL;
    }
    http_resp_free(&r);
    return status;
}

uint16_t http_listen_port(const char *listen)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;

    return colon ? (uint16_t)atoi(colon + 1) : 0;
}

uint16_t http_create_proxy(uint16_t admin, const char *name, uint16_t upstream)
{
    char body[512];
    json_t *j = NULL;
    uint16_t port;

    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", name,
             upstream);
    CHECK_EQ(http_json(admin, "POST", "/proxies", body, &j), 201);
    port = http_listen_port(json_string_value(json_object_get(j, "listen")));
    json_decref(j);
    CHECK(port != 0);
    return port;
}
