/*
 * Memory back to the system after a load. glibc's malloc keeps what the connections of a peak
 * freed (most of it below the top of the heap, where only malloc_trim returns it): after 5,000
 * held connections closed, finwait stayed at twice its idle RSS. When the open connections
 * fall to half of their peak or less, finwait empties its pools of buffers and write requests
 * and trims the heap, from a timer a second later (once a second at most while they keep
 * falling, never in the middle of a burst), until none is left.
 */
#ifndef FINWAIT_PROXY_MEMTRIM_H
#define FINWAIT_PROXY_MEMTRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct memtrim {
    uv_timer_t timer;
    size_t high; /* the most connections open at once since the last trim */
    size_t open; /* open now */
    bool peaked; /* high reached a peak worth trimming after; cleared once all closed */
};

void memtrim_init(struct memtrim *m, uv_loop_t *loop);
/* The number of open connections changed to n. */
void memtrim_conns(struct memtrim *m, size_t n);
/* Return what can be returned now; returns the RSS released, in KiB (0 if it grew). */
long memtrim_now(void);
uv_handle_t *memtrim_handle(struct memtrim *m);

#endif
