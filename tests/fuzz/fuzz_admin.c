/*
 * libFuzzer harness for the admin API's request handling (proxy/admin/admin_api.c), in process and
 * without HTTP: a real server on a libuv loop whose proxies listen on 127.0.0.1:0.
 *
 * Input framing (text, so that corpus files are written by hand):
 *
 *     METHOD PATH\n
 *     Header-Name: value\n        (zero or more: User-Agent, Host, Authorization)
 *     \n
 *     body (the rest, any bytes)
 *
 * A missing blank line means no body; a missing first line, "GET /". After each input the
 * server goes back to its starting configuration, so an input's effect does not depend on
 * the ones before it (crashes reproduce from one file). finwait's log goes to /dev/null unless
 * FINWAIT_FUZZ_LOG is set.
 *
 * Proxies created by inputs really listen: run it where that is harmless, in a network
 * namespace of its own (`unshare -rn build-fuzz/tests/fuzz/fuzz_admin ...`); it refuses to
 * run where an interface other than lo exists unless FINWAIT_FUZZ_ANY_NETWORK=1, and brings
 * that namespace's lo up. Each input finds one open connection through proxy db (to a
 * listener of the harness), for the connection routes to show and end. Inputs that
 * name a packet-level fault are skipped: those would install iptables rules.
 */
#include <jansson.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "proxy/admin/admin_api.h"
#include "proxy/relay/conn-t.h"
#include "proxy/relay/listener.h"
#include "proxy/log.h"
#include "proxy/server.h"
#include "rules/config.h"

/* db's upstream is a listener of the harness: each input finds one open connection through db
 * (the connection routes have something to show and end; its id grows from input to input) */
static const char start_fmt[] = "log: {level: error}\n"
                                "admin: {listen: '127.0.0.1:0', hosts: [finwait.test]}\n"
                                "proxies:\n"
                                "  - name: db\n"
                                "    listen: 127.0.0.1:0\n"
                                "    upstream: 127.0.0.1:%u\n"
                                "    faults:\n"
                                "      - {type: latency, latency: 10}\n"
                                "  - {name: 'host:5432', listen: 127.0.0.1:0, "
                                "upstream: localhost:9, enabled: false}\n";
static char start_yaml[sizeof start_fmt + 8];
static int upstream_fd = -1;
static int peer_fd[2] = {-1, -1}; /* the client and server ends of the open connection */

static uv_loop_t loop;
static struct server srv;
static struct admin_api *api;
static struct config *first; /* server_start's: must outlive the server, never freed */

static struct config *load_start(void)
{
    struct config *cfg;
    struct diag d;

    diag_init(&d);
    if (config_load_string("fuzz", start_yaml, strlen(start_yaml), &cfg, &d) != 0) {
        diag_print(&d, stderr);
        abort();
    }
    diag_free(&d);
    return cfg;
}

static void only_loopback(void)
{
    struct if_nameindex *ifs = if_nameindex();

    if (getenv("FINWAIT_FUZZ_ANY_NETWORK"))
        return;
    for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
        if (strcmp(i->if_name, "lo") != 0) {
            fprintf(stderr,
                    "fuzz_admin: interface %s: run me in a network namespace of my own "
                    "(unshare -rn), or set FINWAIT_FUZZ_ANY_NETWORK=1\n",
                    i->if_name);
            exit(1);
        }
    }
    if_freenameindex(ifs);
}

/* A new network namespace (unshare -rn) has its loopback down: bring it up, so that db's
 * connection can be made. Only lo exists here (only_loopback), so nothing else is touched. */
static void loopback_up(void)
{
    struct ifreq ifr = {0};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    if (fd >= 0)
        close(fd);
}

/* A listening socket on 127.0.0.1:0 for db's upstream; start_yaml names its port. */
static int upstream_listen(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        abort();
    snprintf(start_yaml, sizeof start_yaml, start_fmt, ntohs(sa.sin_port));
    return fd;
}

static bool db_connected(void)
{
    for (const struct conn *c = srv.conns; c; c = c->next)
        if (!c->closing && c->connected && strcmp(c->p->name, "db") == 0)
            return true;
    return false;
}

/* Make sure db has an open, connected connection (the last input may have ended it). */
static void ensure_conn(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    const struct listener *l = srv.listeners;

    if (db_connected())
        return;
    for (int i = 0; i < 2; i++)
        if (peer_fd[i] >= 0)
            close(peer_fd[i]);
    peer_fd[0] = peer_fd[1] = -1;
    /* server ends of connections that ended before they were accepted here */
    for (int fd; (fd = accept4(upstream_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
        close(fd);
    while (l && strcmp(l->p->name, "db") != 0)
        l = l->next;
    if (!l)
        return;
    sa.sin_port = htons(l->port);
    peer_fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (peer_fd[0] < 0)
        abort();
    if (connect(peer_fd[0], (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        close(peer_fd[0]); /* no loopback: the inputs run without a connection */
        peer_fd[0] = -1;
        return;
    }
    for (int i = 0; i < 1000 && !db_connected(); i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        if (peer_fd[1] < 0)
            peer_fd[1] = accept4(upstream_fd, NULL, NULL, SOCK_CLOEXEC);
        poll(NULL, 0, 1);
    }
    if (peer_fd[1] < 0)
        peer_fd[1] = accept4(upstream_fd, NULL, NULL, SOCK_CLOEXEC);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    only_loopback();
    /* a line per reload would drown libFuzzer's own; FINWAIT_FUZZ_LOG=1 shows them */
    log_init(getenv("FINWAIT_FUZZ_LOG") ? stderr : fopen("/dev/null", "w"), LOG_FORMAT_TEXT,
             LOG_LEVEL_ERROR);
    uv_loop_init(&loop);
    if (!getenv("FINWAIT_FUZZ_ANY_NETWORK"))
        loopback_up();
    upstream_fd = upstream_listen();
    first = load_start();
    if (server_start(&srv, &loop, first, false) != 0 || admin_api_new(&api, &srv) != 0)
        abort();
    return 0;
}

/* True if a JSON string anywhere in `j` names a packet-level fault. */
static bool names_packet_fault(json_t *j, int depth)
{
    enum fault_type t;
    const char *k;
    json_t *v;
    size_t i;

    if (depth > 32)
        return true; /* not worth the time */
    if (json_is_string(j))
        return fault_type_lookup(json_string_value(j), &t) && fault_type_is_packet(t);
    if (json_is_array(j))
        json_array_foreach(j, i, v) if (names_packet_fault(v, depth + 1)) return true;
    if (json_is_object(j))
        json_object_foreach(j, k, v) if (names_packet_fault(v, depth + 1)) return true;
    return false;
}

/* The next line of [*p, end) as a NUL-terminated copy in buf; false at the end. */
static bool next_line(const char **p, const char *end, char *buf, size_t len)
{
    const char *nl;
    size_t n;

    if (*p >= end)
        return false;
    nl = memchr(*p, '\n', (size_t)(end - *p));
    n = (size_t)((nl ? nl : end) - *p);
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), *p);
    *p = nl ? nl + 1 : end;
    return true;
}

/* The fuzzer's stand-in for the HTTP layer's query parsing: `key=value` pairs after '?',
 * undecoded (the real server decodes; the API must cope with any bytes either way). */
static const char *fuzz_arg(const struct admin_request *rq, const char *key)
{
    static char value[1024];
    const char *q = rq->http, *at;
    size_t klen = strlen(key);

    for (at = q; at && *at; at = strchr(at, '&') ? strchr(at, '&') + 1 : NULL)
        if (strncmp(at, key, klen) == 0 && at[klen] == '=') {
            size_t n = strcspn(at + klen + 1, "&");
            snprintf(value, sizeof value, "%.*s", (int)n, at + klen + 1);
            return value;
        }
    return NULL;
}

/* A header's value into buf, cut to its size. Returns buf. */
static const char *header_value(char *buf, size_t len, const char *value)
{
    snprintf(buf, len, "%s", value);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    char request_line[1100], line[1100], method[16] = "GET", path[1024] = "/";
    /* as long as a line: a header's value is copied from one (a longer header line is cut to
     * the line's size by next_line, and the copy must hold whatever is left of it) */
    char ua[sizeof line], host[sizeof line], auth[sizeof line], accept[sizeof line], *query;
    struct admin_request rq = {0};
    struct admin_response out;
    bool has_body = false;
    json_t *body;

    if (next_line(&p, end, request_line, sizeof request_line))
        sscanf(request_line, "%15s %1023s", method, path);
    while (next_line(&p, end, line, sizeof line)) {
        if (line[0] == '\0') {
            has_body = true;
            break;
        }
        if (strncasecmp(line, "User-Agent: ", 12) == 0)
            rq.user_agent = header_value(ua, sizeof ua, line + 12);
        else if (strncasecmp(line, "Host: ", 6) == 0)
            rq.host = header_value(host, sizeof host, line + 6);
        else if (strncasecmp(line, "Authorization: ", 15) == 0)
            rq.authorization = header_value(auth, sizeof auth, line + 15);
        else if (strncasecmp(line, "Accept: ", 8) == 0)
            rq.accept = header_value(accept, sizeof accept, line + 8);
    }
    rq.method = method;
    rq.path = path;
    query = strchr(path, '?');
    if (query) {
        *query++ = '\0';
        rq.arg = fuzz_arg;
        rq.http = query;
    }
    if (has_body) {
        rq.body = p;
        rq.body_len = (size_t)(end - p);
    }
    body = rq.body_len ? json_loadb(rq.body, rq.body_len, 0, NULL) : NULL;
    if (names_packet_fault(body, 0)) {
        json_decref(body);
        return -1; /* not added to the corpus */
    }
    json_decref(body);

    ensure_conn();
    admin_api_handle(api, &rq, &out);
    if (out.status < 200 || out.status > 599)
        abort();
    if (out.body && out.content_type && strcmp(out.content_type, "application/json") == 0) {
        json_t *j = json_loadb(out.body, out.body_len, 0, NULL);
        if (!j)
            abort(); /* the API answered something that is not JSON */
        json_decref(j);
    }
    admin_response_free(&out);
    uv_run(&loop, UV_RUN_NOWAIT);

    /* back to the start: the same configuration, the API's document from it */
    if (server_reload(&srv, load_start(), NULL, 0) != 0)
        abort();
    admin_api_file_reloaded(api);
    uv_run(&loop, UV_RUN_NOWAIT);
    return 0;
}
