/*
 * The usual fixture of a fault test: a server listener, finwait with one proxy "t" in front
 * of it (faults given as a YAML flow list), a connected client and the accepted server side.
 */
#ifndef FW_TEST_PAIR_H
#define FW_TEST_PAIR_H

#include <unistd.h>

#include "proc.h"

struct pair {
    struct fwp *fw;
    int lfd;       /* the server's listener */
    uint16_t port; /* finwait's */
    int c;         /* client socket */
    int s;         /* server socket (-1 if finwait never connected) */
};

/* Start finwait with `faults` (a YAML flow sequence) and `extra` proxy keys (may be ""). */
void pair_start(struct pair *p, const char *faults, const char *extra);
/* Connect one more client (and accept its server side when `accept` is true). */
void pair_connect(struct pair *p, bool accept);
/* Close what is open and stop finwait; checks it exits 0. */
void pair_stop(struct pair *p);

#endif
