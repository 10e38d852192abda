#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

static void skip(const char *why)
{
    const char *ci = getenv("CI");

    if (ci && strcmp(ci, "true") == 0 && geteuid() == 0) {
        fprintf(stderr, "packet test cannot run (%s) although CI=true and root\n", why);
        exit(1);
    }
    fprintf(stderr, "SKIP: %s (packet-level tests need root / CAP_NET_ADMIN)\n", why);
    exit(77);
}

static void lo_up(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    CHECK(fd >= 0);
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr) == 0);
    ifr.ifr_flags |= IFF_UP;
    CHECK(ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
    close(fd);
}

bool netns_try_enter(void)
{
    if (unshare(CLONE_NEWNET) != 0)
        return false;
    lo_up();
    return true;
}

void netns_enter(int orphan_retries)
{
    int fd;
    char v[16];

    if (unshare(CLONE_NEWNET) != 0)
        skip(strerror(errno));
    lo_up();
    fd = open("/proc/sys/net/ipv4/tcp_orphan_retries", O_WRONLY);
    CHECK(fd >= 0);
    snprintf(v, sizeof v, "%d", orphan_retries);
    CHECK(write(fd, v, strlen(v)) > 0);
    close(fd);
    if (access("/usr/sbin/iptables-restore", X_OK) != 0)
        skip("iptables is not installed");
}

int netns_count_state(uint16_t port, int state)
{
    static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    int n = 0;

    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        char line[512];
        if (!f)
            continue;
        while (fgets(line, sizeof line, f)) {
            char local[64];
            unsigned st;
            if (sscanf(line, " %*d: %63s %*s %x", local, &st) != 2)
                continue;
            char *colon = strrchr(local, ':');
            if (colon && strtoul(colon + 1, NULL, 16) == port && (int)st == state)
                n++;
        }
        fclose(f);
    }
    return n;
}

/* The number a shell command prints (a `grep -c`), 0 if it prints none. */
static int count_of(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    int n = 0;

    CHECK(p != NULL);
    if (fscanf(p, "%d", &n) != 1)
        n = 0;
    pclose(p);
    return n;
}

int netns_finwait_rules(void)
{
    return count_of("{ iptables-save -t mangle; ip6tables-save -t mangle; } 2>/dev/null | "
                    "grep -c FINWAIT");
}

int netns_tproxy_rules(void)
{
    return count_of("{ ip -4 rule; ip -6 rule; } 2>/dev/null | grep -c 'fwmark 0x46574000'");
}

long netns_queue_packets(unsigned queue)
{
    FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
    unsigned q, portid, total, mode, range, dropped, udropped, seq, one;
    long found = -1;

    if (!f)
        return -1;
    while (fscanf(f, "%u %u %u %u %u %u %u %u %u", &q, &portid, &total, &mode, &range, &dropped,
                  &udropped, &seq, &one) == 9)
        if (q == queue)
            found = seq;
    fclose(f);
    return found;
}
