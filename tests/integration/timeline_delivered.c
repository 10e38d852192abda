/* The timeline draws only what reached a peer's side, and the log counts the same bytes.
 * close {to: client} on a keep-alive connection: the client gets its FIN, sends one more
 * request (its side is still open), and the server's 150-byte answer cannot follow the FIN.
 * It once was drawn reaching the client, and counted in bytes_down, while the client read
 * EOF. */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "sock.h"

#define FIRST  100
#define SECOND 150

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up), c, s;
    struct fwp *fw = fwp_start("log: {format: text, level: info, timeline: true}\n"
                               "proxies:\n"
                               "  - name: t\n"
                               "    listen: 127.0.0.1:0\n"
                               "    upstream: 127.0.0.1:%u\n"
                               "    faults: [{type: close, after: 300ms, to: client}]\n",
                               up);
    static char answer[SECOND];
    struct sk_read r;
    char *log, *diagram;

    memset(answer, 'a', sizeof answer);
    sk_pair(NULL, "127.0.0.1", fwp_port(fw, "t"), lfd, &c, &s);
    /* the first request and its answer, before the fault */
    CHECK_EQ(sk_write_all(c, "GET 1", 5, 1000), 0);
    CHECK_UINT(sk_read_n(s, 5, 1000).bytes, ==, 5);
    CHECK_EQ(sk_write_all(s, answer, FIRST, 1000), 0);
    CHECK_UINT(sk_read_n(c, FIRST, 1000).bytes, ==, FIRST);
    /* the FIN to the client; the client, reusing the connection, sends a second request */
    r = sk_read_until_end(c, 3000, false, 0);
    CHECK_STR(sk_end_name(r.end), "EOF");
    CHECK_EQ(sk_write_all(c, "GET 2", 5, 1000), 0);
    CHECK_UINT(sk_read_n(s, 5, 1000).bytes, ==, 5);
    CHECK_EQ(sk_write_all(s, answer, SECOND, 1000), 0);
    sk_shut_wr(s);
    /* the client has its EOF and nothing more */
    r = sk_read_until_end(c, 1000, false, 0);
    CHECK_UINT(r.bytes, ==, 0);
    sk_shut_wr(c);
    /* the diagram is printed when the connection is freed, its last line the close */
    log = NULL;
    for (int64_t end = now_ms() + 5000; now_ms() < end; poll(NULL, 0, 10)) {
        const char *title;
        free(log);
        log = fwp_log(fw);
        title = strstr(log, "client <-> finwait <-> server");
        if (title && strstr(title, "connection closed"))
            break;
    }
    fprintf(stderr, "%s", log);
    diagram = strstr(log, "client <-> finwait <-> server");
    CHECK(diagram != NULL);
    /* the first answer reached the client; the second stopped at finwait, with the reason */
    CHECK_CONTAINS(diagram, "|<------ 100 B ---------|<------ 100 B ---------|");
    CHECK_MSG(strstr(diagram, "<------ 150 B ---------|<") == NULL,
              "the 150-byte answer is drawn reaching the client, which read EOF");
    CHECK_CONTAINS(diagram, "|X------ 150 B ---------|");
    CHECK_CONTAINS(diagram, "150 B ---------|     not relayed: FIN already sent to the client");
    /* the log counts what the timeline draws */
    CHECK_CONTAINS(log, "bytes_down=100\n");
    free(log);
    close(c);
    close(s);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("timeline: an answer after the client's FIN is drawn as not relayed");
    return 0;
}
