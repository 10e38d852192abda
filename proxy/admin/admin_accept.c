#include "proxy/admin/admin_accept.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "proxy/log.h"
#include "proxy/stats.h"

/* While starved: how often accepting is tried again, and how often it is said. */
#define RETRY_MS        100
#define LOG_INTERVAL_MS 1000
/* Connections accepted per readiness: the relay gets the loop back between batches. */
#define BATCH 8

static void on_retry(uv_timer_t *t);

/* No descriptor for a new connection: wait on the timer, not on the socket (it stays readable:
 * watching it would spin), and say so once per interval. */
static void starve(struct admin_accept *aa, int err)
{
    uint64_t now = uv_now(aa->poll.loop);

    stats_admin_accept_failed(err == EMFILE ? ACCEPT_EMFILE : ACCEPT_ENFILE);
    aa->starved = true;
    aa->unsaid++;
    uv_poll_stop(&aa->poll);
    uv_timer_start(&aa->retry, on_retry, RETRY_MS, 0);
    if (aa->logged_ms && now - aa->logged_ms < LOG_INTERVAL_MS)
        return;
    LOG(LOG_LEVEL_WARN, NULL, "api",
        "admin API: accept: %s: new connections wait, tried again every %d ms (%llu failed "
        "accept%s; see finwait_admin_accept_failures_total)",
        strerror(err), RETRY_MS, (unsigned long long)aa->unsaid, aa->unsaid == 1 ? "" : "s");
    aa->logged_ms = now;
    aa->unsaid = 0;
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    struct admin_accept *aa = p->data;
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;

    (void)status, (void)events;
    for (int i = 0; i < BATCH && !aa->paused; i++) {
        len = sizeof ss;
        fd = accept4(aa->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            aa->cb(aa->ctx, fd, (struct sockaddr *)&ss, len); /* may pause */
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE) {
            starve(aa, errno);
            return;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            stats_admin_accept_failed(ACCEPT_OTHER);
            LOG(LOG_LEVEL_WARN, NULL, "api", "admin API: accept: %s", strerror(errno));
        }
        break;
    }
    if (aa->starved) {
        aa->starved = false;
        if (aa->unsaid || aa->logged_ms)
            LOG(LOG_LEVEL_WARN, NULL, "api", "admin API: accepting again");
        aa->logged_ms = 0;
        aa->unsaid = 0;
    }
}

/* Watch the socket again: at once (pending clients are accepted now), then on readiness. */
static void watch(struct admin_accept *aa)
{
    if (aa->paused || aa->fd < 0)
        return;
    uv_poll_start(&aa->poll, UV_READABLE, on_readable);
    on_readable(&aa->poll, 0, UV_READABLE);
}

static void on_retry(uv_timer_t *t)
{
    watch(t->data);
}

int admin_accept_open(struct admin_accept *aa, uv_loop_t *loop, const struct sockaddr *sa,
                      admin_accept_cb cb, void *ctx)
{
    socklen_t len =
        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1, zero = 0, r;

    memset(aa, 0, sizeof *aa);
    aa->cb = cb;
    aa->ctx = ctx;
    aa->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (aa->fd < 0)
        return -errno;
    setsockopt(aa->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa->sa_family == AF_INET6) /* "::" takes IPv4 clients too, as before */
        setsockopt(aa->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(aa->fd, sa, len) != 0 || listen(aa->fd, SOMAXCONN) != 0) {
        r = -errno;
        close(aa->fd);
        aa->fd = -1;
        return r;
    }
    uv_poll_init(loop, &aa->poll, aa->fd);
    uv_timer_init(loop, &aa->retry);
    aa->poll.data = aa;
    aa->retry.data = aa;
    aa->handles = 2;
    uv_poll_start(&aa->poll, UV_READABLE, on_readable);
    return 0;
}

uint16_t admin_accept_port(const struct admin_accept *aa)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(aa->fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

void admin_accept_pause(struct admin_accept *aa)
{
    aa->paused = true;
    uv_poll_stop(&aa->poll);
    uv_timer_stop(&aa->retry);
}

void admin_accept_resume(struct admin_accept *aa)
{
    if (!aa->paused)
        return;
    aa->paused = false;
    /* from the timer, not here: the owner may be inside libmicrohttpd's round */
    uv_timer_start(&aa->retry, on_retry, 0, 0);
}

static void on_closed(uv_handle_t *h)
{
    struct admin_accept *aa = h->data;

    if (--aa->handles == 0 && aa->closed)
        aa->closed(aa);
}

void admin_accept_close(struct admin_accept *aa, void (*closed)(struct admin_accept *))
{
    aa->closed = closed;
    uv_poll_stop(&aa->poll);
    close(aa->fd); /* after its poll stopped: out of libuv's epoll first */
    aa->fd = -1;
    uv_close((uv_handle_t *)&aa->poll, on_closed);
    uv_close((uv_handle_t *)&aa->retry, on_closed);
}
