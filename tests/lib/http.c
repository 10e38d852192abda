#include "http.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

int http_call(uint16_t port, const char *method, const char *path, const char *body,
              const char *headers, json_t **out, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    size_t cap = 1 << 16, len = 0,
           reqlen = strlen(method) + strlen(path) + 256 + (body ? strlen(body) : 0) +
                    (headers ? strlen(headers) : 0);
    char *req = malloc(reqlen), *resp = malloc(cap);
    int fd, status = -1;
    const char *b;

    if (out)
        *out = NULL;
    fd = sk_connect("127.0.0.1", port, timeout_ms);
    if (fd < 0 || !req || !resp)
        goto out;
    snprintf(req, reqlen,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%sContent-Type: "
             "application/json\r\nContent-Length: %zu\r\n\r\n%s",
             method, path, port, headers ? headers : "", body ? strlen(body) : 0, body ? body : "");
    if (sk_write_all(fd, req, strlen(req), timeout_ms) != 0)
        goto out;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t left = end - now_ms();
        ssize_t n;
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            goto out; /* no complete answer in time */
        if (len + 1 >= cap) {
            char *bigger = realloc(resp, cap * 2);
            if (!bigger)
                goto out;
            resp = bigger;
            cap *= 2;
        }
        n = read(fd, resp + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    resp[len] = '\0';
    if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
        status = -1;
    b = strstr(resp, "\r\n\r\n");
    if (out && b && b[4]) {
        json_error_t e;
        *out = json_loads(b + 4, 0, &e);
    }
out:
    if (fd >= 0)
        close(fd);
    free(req);
    free(resp);
    return status;
}

uint16_t http_listen_port(const char *listen)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;

    return colon ? (uint16_t)atoi(colon + 1) : 0;
}
