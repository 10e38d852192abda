/*
 * finwait acknowledges at once what a peer sends while finwait's own bytes for that peer wait
 * for room (the peer's window full). A direct peer in that place, blocked on its write,
 * acknowledges at once; finwait's leg, taken by Linux for interactive, delayed its ACK by 40 ms.
 * A server whose next small write waited for that ACK (Nagle), and which closed right after
 * with the upload unread, lost that write to its RST: the fidelity oracle's gen:1000:538 and
 * three more like it (the client read 10,530 of 15,795 B through finwait, all of them directly).
 *
 * The server and the client exchange a few small messages (the leg becomes interactive), the
 * client uploads until nothing more fits on the way (the server does not read), then the server
 * writes two small chunks 1 ms apart: how long its kernel holds the second unsent (SIOCOUTQNSD)
 * is how long finwait took to acknowledge the first. Before the fix about 40 ms every time; a
 * delayed ACK is never under 40 ms, so the median of five must be under 20 ms.
 */
#include <fcntl.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

/* Upload from c until nothing more fits on the way: no write accepted for 100 ms. */
static void fill(int c)
{
    static char block[65536];
    int64_t end = now_ms() + 5000, last = now_ms();

    fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
    while (now_ms() < end && now_ms() - last < 100) {
        if (write(c, block, sizeof block) > 0)
            last = now_ms();
        else
            usleep(1000);
    }
    CHECK_MSG(now_ms() < end, "the upload never filled the way");
    fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up);
    struct fwp *fw = fwp_start("proxies:\n"
                               "  - {name: t, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                               up);
    char msg[1000];
    double held[5];

    memset(msg, 'm', sizeof msg);
    for (int i = 0; i < 5; i++) {
        int c, s, unsent = 1;
        int64_t t0;

        sk_pair(NULL, "127.0.0.1", fwp_port(fw, "t"), lfd, &c, &s);
        for (int k = 0; k < 3; k++) { /* question and answer: an interactive connection */
            CHECK_EQ(sk_write_all(s, msg, 100, 2000), 0);
            CHECK_UINT(sk_read_n(c, 100, 2000).bytes, ==, 100);
            CHECK_EQ(sk_write_all(c, msg, 100, 2000), 0);
            CHECK_UINT(sk_read_n(s, 100, 2000).bytes, ==, 100);
        }
        fill(c);
        CHECK_EQ(sk_write_all(s, msg, sizeof msg, 2000), 0);
        usleep(1000); /* the second write comes while the first is unacknowledged */
        CHECK_EQ(sk_write_all(s, msg, sizeof msg, 2000), 0);
        t0 = now_ms();
        while (now_ms() - t0 < 500 && ioctl(s, SIOCOUTQNSD, &unsent) == 0 && unsent > 0)
            usleep(100);
        held[i] = (double)(now_ms() - t0);
        CHECK_UINT(sk_read_n(c, 2 * sizeof msg, 2000).bytes, ==, 2 * sizeof msg);
        CHECK(sk_read_n(s, 100, 2000).bytes == 100); /* the upload is there */
        fprintf(stderr, "run %d: the server's second chunk waited %.0f ms for finwait's ACK\n",
                i + 1, held[i]);
        close(c);
        close(s);
    }
    qsort(held, 5, sizeof held[0], cmp);
    CHECK_DBL(held[2], <, 20);
    TEST_PASS("finwait acknowledges at once while its bytes for the peer wait: the peer's Nagle "
              "does not wait for a delayed ACK");
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    return 0;
}
