/*
 * `finwait demo`: one process, one loop, three actors on loopback ephemeral ports: a client
 * that sends a request and half-closes, a server that answers after it read EOF and then
 * closes, and a finwait proxy between them. Each scene configures one fault and prints the
 * connection's timeline and what each peer observed.
 */
#include "proxy/cli/demo.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/relay/bufpool.h"
#include "proxy/relay/conn.h"
#include "proxy/relay/listener.h"
#include "proxy/log.h"
#include "proxy/faults/packet.h"
#include "proxy/server.h"
#include "proxy/relay/tcpinfo.h"
#include "rules/config.h"

#define ANSWER_BYTES   4096
#define SCENE_LIMIT_MS 8000

struct scene {
    const char *name;
    const char *shows;  /* one sentence: what the scene demonstrates */
    const char *faults; /* YAML flow sequence for `faults:` */
    bool packet;        /* needs the packet engine (CAP_NET_ADMIN) */
};

static const struct scene scenes[] = {
    {"half-close", "no fault: the client half-closes and still receives the whole answer", "[]",
     false},
    {"delay_fin", "the client's FIN reaches the server 1s late; the answer waits for it",
     "[{type: delay_fin, direction: upstream, delay: 1s}]", false},
    {"delay_fin_forever",
     "the client's FIN never reaches the server: it waits for EOF until idle_timeout resets",
     "[{type: delay_fin, direction: upstream, delay: forever}]", false},
    {"rst_instead_of_fin", "the server gets an RST where the client's FIN was",
     "[{type: rst_instead_of_fin, direction: upstream}]", false},
    {"break_half_close",
     "a proxy without half-close: the client's FIN closes both legs, the answer is lost",
     "[{type: break_half_close}]", false},
    {"reset", "an RST to both peers after 1000 bytes of the answer",
     "[{type: reset, after_bytes: 1000, direction: downstream}]", false},
    {"close", "a FIN to both peers after 1000 bytes of the answer",
     "[{type: close, after_bytes: 1000, direction: downstream}]", false},
    {"blackhole", "the answer and the server's FIN vanish: the client sees silence",
     "[{type: blackhole, direction: downstream}]", false},
    {"refuse", "every connection is reset at once", "[{type: refuse, mode: reset}]", false},
    {"latency", "Toxiproxy's latency: the answer arrives 300ms later",
     "[{type: latency, latency: 300, stream: downstream}]", false},
    {"bandwidth", "Toxiproxy's bandwidth: 4 KB at 8 KB/s", "[{type: bandwidth, rate: 8}]", false},
    {"slow_close", "Toxiproxy's slow_close: the server's FIN is held 500ms",
     "[{type: slow_close, delay: 500}]", false},
    {"timeout", "Toxiproxy's timeout: nothing passes, the connection closes after 500ms",
     "[{type: timeout, timeout: 500}]", false},
    {"reset_peer", "Toxiproxy's reset_peer: the client is reset as soon as the server leg is up",
     "[{type: reset_peer, timeout: 0}]", false},
    {"slicer", "Toxiproxy's slicer: the answer in ~1000-byte slices 50ms apart",
     "[{type: slicer, average_size: 1000, size_variation: 200, delay: 50000}]", false},
    {"limit_data", "Toxiproxy's limit_data: the connection closes after 1000 bytes",
     "[{type: limit_data, bytes: 1000}]", false},
    {"drop_final_ack",
     "the client's final ACK is dropped twice: finwait's leg stays in LAST_ACK, resends its FIN",
     "[{type: drop_final_ack, leg: client, count: 2}]", true},
    {"drop_fin", "the server's FIN is dropped twice: it is retransmitted, EOF comes late",
     "[{type: drop_fin, leg: server, from: peer, count: 2}]", true},
};

#define NSCENES (sizeof scenes / sizeof scenes[0])

/* What one peer saw. */
struct peer_obs {
    uint64_t bytes;
    int end; /* 0 while open, UV_EOF, or a UV_E* error */
    double end_ms;
    double first_byte_ms;
};

struct demo {
    uv_loop_t loop;
    struct server srv;
    struct config *cfg;
    uint64_t t0;
    uv_tcp_t srv_listen, srv_conn, cli;
    bool srv_conn_open;
    uv_connect_t cli_connect;
    uv_write_t cli_write, srv_write;
    uv_shutdown_t cli_shut, srv_shut;
    uv_timer_t limit;
    uv_timer_t poll; /* finwait frees a connection after its last callback: look again soon */
    char *answer;
    struct peer_obs client, server;
    bool stopping;
};

static double demo_ms(struct demo *dm)
{
    return (double)(uv_hrtime() - dm->t0) / 1e6;
}

static void demo_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char scratch[65536];

    (void)h;
    (void)hint;
    *b = uv_buf_init(scratch, sizeof scratch);
}

static void noop_close(uv_handle_t *h)
{
    (void)h;
}

static void demo_stop(struct demo *dm)
{
    if (dm->stopping)
        return;
    dm->stopping = true;
    server_stop(&dm->srv);
    uv_close((uv_handle_t *)&dm->limit, noop_close);
    uv_close((uv_handle_t *)&dm->poll, noop_close);
    uv_close((uv_handle_t *)&dm->srv_listen, noop_close);
    if (!uv_is_closing((uv_handle_t *)&dm->cli))
        uv_close((uv_handle_t *)&dm->cli, noop_close);
    if (dm->srv_conn_open && !uv_is_closing((uv_handle_t *)&dm->srv_conn))
        uv_close((uv_handle_t *)&dm->srv_conn, noop_close);
}

/* Both peers are done and finwait has let go of the connection. */
static void demo_check_done(struct demo *dm)
{
    /* a server that finwait never connected to (refuse) has nothing to wait for */
    if (dm->client.end && (dm->server.end || !dm->srv_conn_open) && dm->srv.nconns == 0)
        demo_stop(dm);
}

static void peer_end(struct demo *dm, struct peer_obs *o, uv_tcp_t *t, int why)
{
    if (o->end)
        return;
    o->end = why;
    o->end_ms = demo_ms(dm);
    if (!uv_is_closing((uv_handle_t *)t))
        uv_close((uv_handle_t *)t, noop_close);
}

static void on_limit(uv_timer_t *t)
{
    struct demo *dm = t->data;

    /* a peer that would wait forever (the fault's point) is given up on here */
    if (!dm->client.end)
        peer_end(dm, &dm->client, &dm->cli, UV_ETIMEDOUT);
    if (!dm->server.end && dm->srv_conn_open)
        peer_end(dm, &dm->server, &dm->srv_conn, UV_ETIMEDOUT);
    if (dm->srv.nconns) {
        for (struct conn *c = dm->srv.conns; c; c = c->next)
            conn_abort(c, "demo scene time limit");
    }
    uv_timer_start(t, on_limit, 1000, 0);
    demo_check_done(dm);
    if (!dm->stopping && demo_ms(dm) > SCENE_LIMIT_MS + 3000)
        demo_stop(dm);
}

static void on_poll(uv_timer_t *t)
{
    demo_check_done(t->data);
}

/* --- the server: reads the request until EOF, answers, closes --- */

static void srv_on_shutdown(uv_shutdown_t *req, int status)
{
    struct demo *dm = req->data;

    (void)status;
    /* The server closes once its FIN is out; the kernel finishes the close. */
    peer_end(dm, &dm->server, &dm->srv_conn, dm->server.end ? dm->server.end : UV_EOF);
    demo_check_done(dm);
}

static void srv_on_write(uv_write_t *req, int status)
{
    struct demo *dm = req->data;

    if (status < 0) {
        peer_end(dm, &dm->server, &dm->srv_conn, status);
        demo_check_done(dm);
        return;
    }
    dm->srv_shut.data = dm;
    if (uv_shutdown(&dm->srv_shut, (uv_stream_t *)&dm->srv_conn, srv_on_shutdown) < 0)
        peer_end(dm, &dm->server, &dm->srv_conn, UV_EOF);
}

static void srv_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct demo *dm = s->data;
    uv_buf_t ub;

    (void)b;
    if (n > 0) {
        dm->server.bytes += (uint64_t)n;
        return;
    }
    if (n == 0)
        return;
    uv_read_stop(s);
    if (n != UV_EOF) {
        peer_end(dm, &dm->server, &dm->srv_conn, (int)n);
        demo_check_done(dm);
        return;
    }
    /* EOF: the request is complete, answer it */
    dm->server.end_ms = demo_ms(dm);
    ub = uv_buf_init(dm->answer, ANSWER_BYTES);
    dm->srv_write.data = dm;
    if (uv_write(&dm->srv_write, s, &ub, 1, srv_on_write) < 0)
        peer_end(dm, &dm->server, &dm->srv_conn, UV_EPIPE);
}

static void srv_on_connection(uv_stream_t *l, int status)
{
    struct demo *dm = l->data;

    if (status < 0 || dm->srv_conn_open)
        return;
    uv_tcp_init(&dm->loop, &dm->srv_conn);
    dm->srv_conn.data = dm;
    dm->srv_conn_open = true;
    if (uv_accept(l, (uv_stream_t *)&dm->srv_conn) == 0)
        uv_read_start((uv_stream_t *)&dm->srv_conn, demo_alloc, srv_on_read);
}

/* --- the client: request, half-close, read the answer until EOF --- */

static void cli_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct demo *dm = s->data;
    uv_os_fd_t fd;

    (void)b;
    if (n > 0) {
        if (!dm->client.bytes)
            dm->client.first_byte_ms = demo_ms(dm);
        dm->client.bytes += (uint64_t)n;
        return;
    }
    if (n == 0)
        return;
    if (n == UV_EOF && uv_fileno((uv_handle_t *)s, &fd) == 0 && tcpinfo_reset_pending(fd))
        n = UV_ECONNRESET;
    peer_end(dm, &dm->client, &dm->cli, (int)n);
    demo_check_done(dm);
}

static void cli_on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
}

static void cli_on_write(uv_write_t *req, int status)
{
    struct demo *dm = req->data;

    if (status < 0)
        return;
    dm->cli_shut.data = dm;
    uv_shutdown(&dm->cli_shut, (uv_stream_t *)&dm->cli, cli_on_shutdown);
}

static void cli_on_connect(uv_connect_t *req, int status)
{
    struct demo *dm = req->data;
    static char request[] = "GET /answer HTTP/1.0\r\n\r\n";
    uv_buf_t ub = uv_buf_init(request, sizeof request - 1);

    if (status < 0) {
        peer_end(dm, &dm->client, &dm->cli, status);
        demo_check_done(dm);
        return;
    }
    uv_read_start((uv_stream_t *)&dm->cli, demo_alloc, cli_on_read);
    dm->cli_write.data = dm;
    uv_write(&dm->cli_write, (uv_stream_t *)&dm->cli, &ub, 1, cli_on_write);
}

static const char *end_text(int end, char *buf, size_t len)
{
    if (end == UV_EOF)
        return "EOF";
    if (end == UV_ETIMEDOUT)
        return "still waiting when the scene ended";
    snprintf(buf, len, "%s (%s)", uv_err_name(end), uv_strerror(end));
    return buf;
}

static int run_scene(const struct scene *sc, bool packet_ok)
{
    struct demo dm;
    struct diag d;
    struct sockaddr_storage ss;
    struct sockaddr_in sin;
    int len = sizeof ss, rc = 0;
    char yaml[1024], e1[96], e2[96];
    uint16_t srv_port, fw_port;

    printf("=== %s: %s\n", sc->name, sc->shows);
    if (sc->packet && !packet_ok) {
        printf("    skipped: packet-level faults need Linux, CAP_NET_ADMIN (run as root) and "
               "iptables\n\n");
        return 0;
    }
    memset(&dm, 0, sizeof dm);
    uv_loop_init(&dm.loop);
    dm.answer = malloc(ANSWER_BYTES);
    memset(dm.answer, 'a', ANSWER_BYTES);

    uv_tcp_init(&dm.loop, &dm.srv_listen);
    dm.srv_listen.data = &dm;
    uv_ip4_addr("127.0.0.1", 0, &sin);
    uv_tcp_bind(&dm.srv_listen, (struct sockaddr *)&sin, 0);
    uv_listen((uv_stream_t *)&dm.srv_listen, 8, srv_on_connection);
    uv_tcp_getsockname(&dm.srv_listen, (struct sockaddr *)&ss, &len);
    srv_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);

    snprintf(yaml, sizeof yaml,
             "log: {format: text, level: warn, timeline: true}\n"
             "proxies:\n"
             "  - name: demo\n"
             "    listen: 127.0.0.1:0\n"
             "    upstream: 127.0.0.1:%u\n"
             "    idle_timeout: 1500ms\n"
             "    faults: %s\n",
             srv_port, sc->faults);
    diag_init(&d);
    if (config_load_string(sc->name, yaml, strlen(yaml), &dm.cfg, &d) != 0) {
        diag_print(&d, stderr);
        diag_free(&d);
        free(dm.answer);
        return 1;
    }
    diag_free(&d);
    if (server_start(&dm.srv, &dm.loop, dm.cfg, NULL) != 0) {
        rc = 1;
        goto out;
    }
    fw_port = dm.srv.listeners->port;

    dm.t0 = uv_hrtime();
    uv_timer_init(&dm.loop, &dm.limit);
    dm.limit.data = &dm;
    uv_timer_start(&dm.limit, on_limit, SCENE_LIMIT_MS, 0);
    uv_timer_init(&dm.loop, &dm.poll);
    dm.poll.data = &dm;
    uv_timer_start(&dm.poll, on_poll, 5, 5);
    uv_tcp_init(&dm.loop, &dm.cli);
    dm.cli.data = &dm;
    uv_tcp_nodelay(&dm.cli, 1);
    uv_ip4_addr("127.0.0.1", fw_port, &sin);
    dm.cli_connect.data = &dm;
    uv_tcp_connect(&dm.cli_connect, &dm.cli, (struct sockaddr *)&sin, cli_on_connect);
    uv_run(&dm.loop, UV_RUN_DEFAULT);
    server_release(&dm.srv);

    printf("    client: sent the request and half-closed; received %llu of %d answer bytes, then "
           "%s at %.0f ms\n",
           (unsigned long long)dm.client.bytes, ANSWER_BYTES,
           end_text(dm.client.end, e1, sizeof e1), dm.client.end_ms);
    printf("    server: read %llu request bytes, then %s\n\n", (unsigned long long)dm.server.bytes,
           dm.server.end ? end_text(dm.server.end, e2, sizeof e2) : "was never connected");
out:
    uv_loop_close(&dm.loop);
    config_free(dm.cfg);
    free(dm.answer);
    return rc;
}

int demo_list(FILE *out)
{
    for (size_t i = 0; i < NSCENES; i++)
        fprintf(out, "%-20s %s%s\n", scenes[i].name, scenes[i].shows,
                scenes[i].packet ? " (needs CAP_NET_ADMIN)" : "");
    return 0;
}

/* The packet scenes run only where the engine can start; ask it once. */
static bool packet_available(void)
{
    uv_loop_t loop;
    struct packet_engine *pe = NULL;
    char err[256];
    bool ok;

    uv_loop_init(&loop);
    ok = packet_engine_open(&loop, &pe, err, sizeof err) == 0;
    if (ok)
        packet_engine_close(pe);
    else
        printf("(packet-level scenes will be skipped: %s)\n\n", err);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return ok;
}

int demo_run(const char *name)
{
    bool need_packet = false, packet_ok = false;
    int rc = 0;
    size_t ran = 0;

    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    log_init(stdout, LOG_FORMAT_TEXT, LOG_LEVEL_WARN);
    for (size_t i = 0; i < NSCENES; i++)
        if ((!name || strcmp(name, scenes[i].name) == 0) && scenes[i].packet)
            need_packet = true;
    if (need_packet)
        packet_ok = packet_available();
    for (size_t i = 0; i < NSCENES; i++) {
        if (name && strcmp(name, scenes[i].name) != 0)
            continue;
        rc |= run_scene(&scenes[i], packet_ok);
        ran++;
    }
    bufpool_drain();
    conn__drain_pools();
    if (!ran) {
        fprintf(stderr, "finwait: no demo scene '%s'; the scenes are:\n", name);
        demo_list(stderr);
        return 2;
    }
    return rc;
}
