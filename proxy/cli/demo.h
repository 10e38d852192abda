/* `finwait demo`: a client, finwait and a server in one process, one scene per fault. */
#ifndef FINWAIT_PROXY_DEMO_H
#define FINWAIT_PROXY_DEMO_H

#include <stdio.h>

/* Run every scene (scene == NULL) or the one named. Returns the exit code. */
int demo_run(const char *scene);
int demo_list(FILE *out);

#endif
