/*
 * The event log: one line per event on stderr (or wherever log_init points it), as
 * text or as JSON lines with stable keys. LOG() checks the level before anything is
 * formatted, so a disabled level costs one comparison.
 */
#ifndef FINWAIT_PROXY_LOG_H
#define FINWAIT_PROXY_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "rules/config.h"

extern enum log_level log_level_enabled;

void log_init(FILE *out, enum log_format format, enum log_level level);
FILE *log_out(void);
enum log_format log_format_get(void);

#define LOG_ENABLED(lvl) ((lvl) <= log_level_enabled)

/* A line about no connection in particular: `proxy` may be NULL. Text only in text mode; in
 * JSON mode `event` names the line and `msg` carries the text. */
#define LOG(lvl, proxy, event, ...)                                                                \
    do {                                                                                           \
        if (LOG_ENABLED(lvl))                                                                      \
            log__event((lvl), (proxy), (event), NULL, 0, __VA_ARGS__);                             \
    } while (0)

/* The same with extra keys (JSON keys, or k=v in text after the message). */
#define LOG_KV(lvl, proxy, event, kv, nkv, ...)                                                    \
    do {                                                                                           \
        if (LOG_ENABLED(lvl))                                                                      \
            log__event((lvl), (proxy), (event), (kv), (nkv), __VA_ARGS__);                         \
    } while (0)

/* One key/value of a connection event; `str` is used when not NULL, else `num`. */
struct log_kv {
    const char *key;
    const char *str;
    uint64_t num;
};

void log__event(enum log_level lvl, const char *proxy, const char *event, const struct log_kv *kv,
                int nkv, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * A connection event: "web#3 +12.345ms client: FIN received [CLOSE_WAIT] k=v ..." or the
 * same as one JSON object. `leg` and `state` may be NULL; `text` is the human part.
 */
void log__conn(enum log_level lvl, const char *proxy, uint64_t conn_id, double t_ms,
               const char *event, const char *leg, const char *state, const char *text,
               const struct log_kv *kv, int nkv);

/* Write `s` as a JSON string (with quotes) to `out`. */
void log_json_str(FILE *out, const char *s);

#endif
