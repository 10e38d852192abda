/*
 * The process collector of Prometheus' Go client, which Toxiproxy's -runtime-metrics turns on:
 * the same names, help texts and units, read from /proc/self. finwait has no Go runtime, so
 * the client's go_* series have no counterpart and none are made up.
 */
#include "proxy/admin/metrics_process.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A gauge or counter as the Go client writes it: the shortest text that reads back as v. */
static void sample(FILE *o, const char *name, const char *type, const char *help, double v)
{
    char num[40];

    for (int prec = 1; prec <= 17; prec++) {
        snprintf(num, sizeof num, "%.*g", prec, v);
        if (strtod(num, NULL) == v)
            break;
    }
    fprintf(o, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, type, name, num);
}

/* Fields of /proc/self/stat after the command (which may hold spaces and parentheses). */
struct proc_stat {
    unsigned long long utime, stime; /* clock ticks */
    unsigned long long starttime;    /* clock ticks after boot */
    unsigned long long vsize;        /* bytes */
    long long rss;                   /* pages */
};

static bool read_stat(struct proc_stat *ps)
{
    char buf[1024], *p;
    size_t n;
    FILE *f = fopen("/proc/self/stat", "r");

    if (!f)
        return false;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    /* after ")": state(3) ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24) */
    return p && sscanf(p + 2,
                       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                       "%*d %*d %llu %llu %lld",
                       &ps->utime, &ps->stime, &ps->starttime, &ps->vsize, &ps->rss) == 5;
}

/* The boot time in seconds since the epoch (/proc/stat's btime), 0 if unknown. */
static unsigned long long boot_time(void)
{
    char line[256];
    unsigned long long bt = 0;
    FILE *f = fopen("/proc/stat", "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", &bt) == 1)
            break;
    fclose(f);
    return bt;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

void metrics_process(FILE *o)
{
    struct proc_stat ps;
    struct rlimit rl;
    double ticks = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
    long fds = open_fds();

    if (read_stat(&ps) && ticks > 0) {
        sample(o, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.",
               (double)(ps.utime + ps.stime) / ticks);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        sample(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
               (double)rl.rlim_cur);
    if (fds >= 0)
        sample(o, "process_open_fds", "gauge", "Number of open file descriptors.", (double)fds);
    if (read_stat(&ps) && ticks > 0) {
        sample(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               (double)ps.rss * page);
        sample(o, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.",
               (double)boot_time() + (double)ps.starttime / ticks);
        sample(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
               (double)ps.vsize);
    }
    if (getrlimit(RLIMIT_AS, &rl) == 0)
        sample(o, "process_virtual_memory_max_bytes", "gauge",
               "Maximum amount of virtual memory available in bytes.", (double)rl.rlim_cur);
}
