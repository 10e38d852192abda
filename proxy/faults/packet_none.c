/* The packet engine where libnetfilter_queue is not available: every packet fault is refused
 * with a clear reason; configurations without one never get here. */
#include <stdio.h>

#include "proxy/faults/packet.h"

static const char why[] =
    "packet-level faults (drop_final_ack, drop_fin) are not available in this build: finwait "
    "was built without libnetfilter_queue (Linux only; apt-get install libnetfilter-queue-dev "
    "libmnl-dev, then rebuild)";

int packet_engine_open(uv_loop_t *loop, struct packet_engine **out, char *err, size_t errlen)
{
    (void)loop;
    *out = NULL;
    snprintf(err, errlen, "%s", why);
    return UV_ENOTSUP;
}

uint32_t packet_engine_mark(const struct packet_engine *pe)
{
    (void)pe;
    return 0;
}

int packet_flow_add(struct packet_engine *pe, int fd, const struct sockaddr *peer,
                    const struct fault *f, packet_event_cb ev_cb, packet_done_cb done_cb, void *ctx,
                    struct packet_flow **out)
{
    (void)pe, (void)fd, (void)peer, (void)f, (void)ev_cb, (void)done_cb, (void)ctx;
    *out = NULL;
    return UV_ENOTSUP;
}

void packet_engine_poll(struct packet_engine *pe)
{
    (void)pe;
}

void packet_engine_close(struct packet_engine *pe)
{
    (void)pe;
}

int packet_cleanup_all(char *report, size_t reportlen, char *err, size_t errlen)
{
    (void)reportlen, (void)err, (void)errlen;
    report[0] = '\0'; /* built without the packet engine: it never made a chain */
    return 0;
}
