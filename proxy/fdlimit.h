/*
 * The process's descriptor limit (RLIMIT_NOFILE). A shell's usual soft limit of 1024 lets
 * finwait relay about 500 connections (two descriptors each) while the hard limit allows far
 * more: finwait raises the soft limit to the hard one at start, as Go programs (Toxiproxy
 * among them) have done since Go 1.19.
 */
#ifndef FINWAIT_PROXY_FDLIMIT_H
#define FINWAIT_PROXY_FDLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fd_limit {
    uint64_t soft;   /* the soft limit now (after fd_limit_raise) */
    uint64_t before; /* the soft limit finwait was started with */
    uint64_t hard;   /* the hard limit: the most the soft one may be raised to */
    unsigned in_use; /* descriptors open when it was read */
    int err;         /* 0, or the negative errno of a failed raise (the limit stays `before`) */
};

/* Read the limits; with `raise`, first set the soft limit to the hard one. */
void fd_limit_get(struct fd_limit *l, bool raise);
/* Connections the free descriptors allow (each holds two: client and upstream legs). */
uint64_t fd_limit_connections(const struct fd_limit *l);
/* "open files: 4096 (raised from 1024; hard limit 4096), about 2040 connections" */
const char *fd_limit_text(const struct fd_limit *l, char *buf, size_t len);
/* The soft limit now, 0 if unknown (GET /metrics: process_max_fds). */
uint64_t fd_limit_soft(void);

#endif
