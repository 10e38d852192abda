/*
 * Half-close not honoured, with a real application: a Node.js line server (net.createServer)
 * answers PING at once and SLOW after 150 ms. The client sends PING, reads PONG, sends SLOW and
 * half-closes (it still reads). With Node's default allowHalfOpen: false, Node ends its side as
 * soon as it reads the client's FIN, and the SLOW answer is lost: finwait finds
 * half_close_ignored on the server side, the delay in its evidence. The twin is the same server
 * with allowHalfOpen: true: it answers after the half-close, then closes: no finding.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "findings.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

static const char server_js[] =
    "const net = require('net');\n"
    "const allowHalfOpen = process.argv[1] === 'true';\n"
    "const srv = net.createServer({allowHalfOpen}, (s) => {\n"
    "  let buf = '';\n"
    "  s.on('error', () => {});\n"
    "  s.on('data', (d) => {\n"
    "    buf += d;\n"
    "    let i;\n"
    "    while ((i = buf.indexOf('\\n')) >= 0) {\n"
    "      const line = buf.slice(0, i);\n"
    "      buf = buf.slice(i + 1);\n"
    "      if (line === 'PING') s.write('PONG\\n');\n"
    "      else if (line === 'SLOW') setTimeout(() => {\n"
    "        if (s.writable) s.write('DONE\\n');\n"
    "        s.end();\n"
    "      }, 150);\n"
    "    }\n"
    "  });\n"
    "});\n"
    "srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));\n";

/* Start the Node server; its port in *port. */
static pid_t node_start(bool allow_half_open, uint16_t *port)
{
    int p[2];
    pid_t pid;
    char line[32] = "";
    FILE *f;

    CHECK_EQ(pipe(p), 0);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* it goes with the test, even when a failed CHECK ends the test first */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        execlp("node", "node", "-e", server_js, allow_half_open ? "true" : "false", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    f = fdopen(p[0], "r");
    CHECK_MSG(fgets(line, sizeof line, f), "node did not start");
    fclose(f);
    *port = (uint16_t)atoi(line);
    CHECK(*port > 0);
    return pid;
}

/* PING, PONG, SLOW and a half-close; what came back after it. */
static struct sk_read converse(uint16_t port)
{
    int c = sk_connect("127.0.0.1", port, 5000);
    struct sk_read r;
    char pong[6] = "";

    CHECK(c >= 0);
    CHECK_EQ(sk_write_all(c, "PING\n", 5, 2000), 0);
    CHECK_EQ(recv(c, pong, 5, MSG_WAITALL), 5);
    CHECK_STR(pong, "PONG\n");
    CHECK_EQ(sk_write_all(c, "SLOW\n", 5, 2000), 0);
    sk_shut_wr(c);
    r = sk_read_until_end(c, 5000, false, 0);
    close(c);
    return r;
}

int main(void)
{
    uint16_t bug_port, twin_port, admin;
    pid_t bug, twin;
    struct fwp *fw;
    struct sk_read r;
    json_t *f;

    if (system("node --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "skip: no node (.ci/setup installs nodejs)\n");
        return 77;
    }
    bug = node_start(false, &bug_port);
    twin = node_start(true, &twin_port);
    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - {name: bug, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n"
                   "  - {name: twin, listen: 127.0.0.1:0, upstream: 127.0.0.1:%u}\n",
                   bug_port, twin_port);
    admin = http_admin_port(fw);

    r = converse(fwp_port(fw, "twin"));
    CHECK_UINT(r.bytes, ==, 5); /* DONE, after the half-close */
    CHECK_STR(sk_end_name(r.end), "EOF");

    r = converse(fwp_port(fw, "bug"));
    CHECK_UINT(r.bytes, ==, 0); /* the answer is lost */
    CHECK_STR(sk_end_name(r.end), "EOF");
    f = fw_wait_finding(admin, "bug", "half_close_ignored", 5000);
    CHECK_MSG(f, "no half_close_ignored finding");
    CHECK_STR(json_string_value(json_object_get(f, "side")), "server");
    CHECK_DBL(fw_evidence(f, "request_bytes"), ==, 5);
    /* Node ends at once: well under the 150 ms the answer takes */
    CHECK_DBL(fw_evidence(f, "delay_ms"), <, 100);
    CHECK_CONTAINS(json_string_value(json_object_get(f, "why")), "allowHalfOpen");
    json_decref(f);
    CHECK_UINT(fw_findings_count(admin, "twin", NULL), ==, 0);

    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    kill(bug, SIGTERM);
    kill(twin, SIGTERM);
    waitpid(bug, NULL, 0);
    waitpid(twin, NULL, 0);
    TEST_PASS("Node's allowHalfOpen: false is found, allowHalfOpen: true is not");
    return 0;
}
