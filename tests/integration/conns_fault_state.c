/* What each fault is doing on a connection, as GET /proxies/{proxy}/connections says: a
 * bandwidth toxic holding bytes says how many are queued, a reset after_bytes counts towards
 * its limit; past it the reset fires and the connection leaves the list. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "proc.h"
#include "sock.h"

static uint16_t admin;

/* The state of fault `name` of the one connection of proxy t. */
static char *fault_state(const char *name)
{
    json_t *a = NULL, *f;
    char *state = NULL;
    size_t i;

    CHECK_EQ(http_json(admin, "GET", "/proxies/t/connections", NULL, &a), 200);
    CHECK_EQ(json_array_size(a), 1);
    json_array_foreach(json_object_get(json_array_get(a, 0), "faults"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
            state = strdup(json_string_value(json_object_get(f, "state")));
    }
    json_decref(a);
    CHECK_MSG(state, "no fault %s", name);
    return state;
}

/* Wait (bounded) until fault `name` reports a state starting with `want`. */
static void wait_state(const char *name, const char *want)
{
    char *st = NULL;

    for (int64_t end = now_ms() + 5000; now_ms() < end; poll(NULL, 0, 10)) {
        free(st);
        st = fault_state(name);
        if (strncmp(st, want, strlen(want)) == 0) {
            free(st);
            return;
        }
    }
    CHECK_STR(st, want);
}

int main(void)
{
    uint16_t up = 0;
    int lfd = sk_listen("127.0.0.1", &up), cfd, sfd;
    struct fwp *fw;

    /* 1 KB/s downstream: 40 KiB from the server stay queued in finwait for long */
    fw = fwp_start("admin: {listen: '127.0.0.1:0'}\n"
                   "proxies:\n"
                   "  - name: t\n"
                   "    listen: 127.0.0.1:0\n"
                   "    upstream: 127.0.0.1:%u\n"
                   "    faults:\n"
                   "      - {name: slow, type: bandwidth, rate: 1, direction: downstream}\n"
                   "      - {name: cut, type: reset, after_bytes: 1000, direction: upstream}\n",
                   up);
    admin = http_admin_port(fw);
    sk_pair(NULL, "127.0.0.1", fwp_port(fw, "t"), lfd, &cfd, &sfd);
    wait_state("slow", "shaping, nothing queued");
    wait_state("cut", "armed: 0 of 1000 bytes upstream");

    CHECK_EQ(sk_write_pattern(sfd, 0, 40 * 1024, 5000), 0);
    /* what has not left at 1 KB/s yet: all but a few KiB */
    for (int64_t end = now_ms() + 5000;; poll(NULL, 0, 10)) {
        char *st = fault_state("slow");
        unsigned kib = 0;
        bool queued = sscanf(st, "shaping %u KiB queued", &kib) == 1;
        if (queued) {
            CHECK_MSG(kib >= 10 && kib <= 40, "%s", st);
            CHECK_CONTAINS(st, "KiB queued");
        }
        CHECK_MSG(queued || now_ms() < end, "%s", st);
        free(st);
        if (queued)
            break;
    }
    CHECK_EQ(sk_write_pattern(cfd, 0, 600, 5000), 0);
    CHECK_UINT(sk_read_n(sfd, 600, 5000).bytes, ==, 600);
    wait_state("cut", "armed: 600 of 1000 bytes upstream");

    /* past the limit: the reset fires and the connection is over */
    CHECK_EQ(sk_write_pattern(cfd, 600, 600, 5000), 0);
    CHECK_STR(sk_end_name(sk_read_until_end(cfd, 5000, false, 0).end), "ECONNRESET");
    for (int64_t end = now_ms() + 5000;; poll(NULL, 0, 10)) {
        json_t *a = NULL;
        CHECK_EQ(http_json(admin, "GET", "/connections", NULL, &a), 200);
        size_t n = json_array_size(a);
        json_decref(a);
        if (n == 0)
            break;
        CHECK_MSG(now_ms() < end, "%zu connections still listed", n);
    }

    close(cfd);
    close(sfd);
    close(lfd);
    CHECK_EQ(fwp_stop(fw, SIGTERM, 5000), 0);
    TEST_PASS("fault states: bandwidth queue, reset's byte count");
    return 0;
}
