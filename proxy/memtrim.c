#include "proxy/memtrim.h"

#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

#include "proxy/log.h"
#include "proxy/relay/bufpool.h"
#include "proxy/relay/conn.h"

/* A peak worth trimming after (smaller ones leave little behind), and the trim's delay. */
#define TRIM_MIN_PEAK 64
#define TRIM_DELAY_MS 1000

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

long memtrim_now(void)
{
    long before = rss_kib(), after;

    bufpool_drain();
    conn__drain_pools();
    malloc_trim(0);
    after = rss_kib();
    return before > after ? before - after : 0;
}

static void on_timer(uv_timer_t *t)
{
    struct memtrim *m = t->data;
    size_t high = m->high;
    long freed;

    /* the next trim comes when what is open now halves again, or all of it closes */
    m->high = m->open;
    m->peaked = m->open > 0;
    freed = memtrim_now();
    LOG(LOG_LEVEL_DEBUG, NULL, "memory",
        "memory: open connections fell from %zu: %ld KiB returned to the system", high, freed);
}

void memtrim_init(struct memtrim *m, uv_loop_t *loop)
{
    m->high = m->open = 0;
    m->peaked = false;
    uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    uv_unref((uv_handle_t *)&m->timer); /* never what keeps finwait running */
}

void memtrim_conns(struct memtrim *m, size_t n)
{
    m->open = n;
    if (n > m->high) {
        m->high = n;
        m->peaked |= n >= TRIM_MIN_PEAK;
    } else if (m->peaked && n * 2 <= m->high && !uv_is_active((uv_handle_t *)&m->timer)) {
        uv_timer_start(&m->timer, on_timer, TRIM_DELAY_MS, 0);
    }
}

uv_handle_t *memtrim_handle(struct memtrim *m)
{
    return (uv_handle_t *)&m->timer;
}
