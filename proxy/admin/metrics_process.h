/*
 * Toxiproxy's -runtime-metrics, the part finwait can honour: the process_* series of
 * Prometheus' Go client (CPU time, memory, file descriptors, start time), read from /proc.
 */
#ifndef FINWAIT_PROXY_METRICS_PROCESS_H
#define FINWAIT_PROXY_METRICS_PROCESS_H

#include <stdio.h>

/* Write the process_* families to o. */
void metrics_process(FILE *o);

#endif
