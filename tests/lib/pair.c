#include "pair.h"

#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "sock.h"

void pair_start(struct pair *p, const char *faults, const char *extra)
{
    uint16_t up = 0;

    p->lfd = sk_listen("127.0.0.1", &up);
    p->fw = fwp_start("seed: 1\n"
                      "proxies:\n"
                      "  - name: t\n"
                      "    listen: 127.0.0.1:0\n"
                      "    upstream: 127.0.0.1:%u\n"
                      "%s"
                      "    faults: %s\n",
                      up, extra, faults);
    p->port = fwp_port(p->fw, "t");
    CHECK(p->port != 0);
    p->c = p->s = -1;
}

void pair_connect(struct pair *p, bool accept)
{
    p->c = sk_connect("127.0.0.1", p->port, 5000);
    CHECK(p->c >= 0);
    p->s = accept ? sk_accept(p->lfd, 5000) : -1;
    CHECK(!accept || p->s >= 0);
}

void pair_stop(struct pair *p)
{
    if (p->c >= 0)
        close(p->c);
    if (p->s >= 0)
        close(p->s);
    close(p->lfd);
    CHECK_EQ(fwp_stop(p->fw, SIGTERM, 8000), 0);
}
