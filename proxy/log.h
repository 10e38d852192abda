/*
 * The event log: one line per event on stderr (or wherever log_init points it), as
 * text or as JSON lines with stable keys. LOG() checks the level before anything is
 * formatted, so a disabled level costs one comparison.
 */
#ifndef FINWAIT_PROXY_LOG_H
#define FINWAIT_PROXY_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rules/config.h"

/* The most detailed level anyone wants: the log's own, or an event stream's (proxy/admin/events.c)
 * when one asks for more. Call sites test it before they format anything. */
extern enum log_level log_level_enabled;

void log_init(FILE *out, enum log_format format, enum log_level level);
FILE *log_out(void);
enum log_format log_format_get(void);

#define LOG_ENABLED(lvl) ((lvl) <= log_level_enabled)

/* The event streams' most detailed level, -1 when there is no subscriber: events up to it are
 * formatted as JSON for them whatever the log's own level and format (proxy/admin/events.c). */
void log__set_stream_level(int level);

/* A line about no connection in particular: `proxy` may be NULL. Text only in text mode; in
 * JSON mode `event` names the line and `msg` carries the text. */
#define LOG(lvl, proxy, event, ...)                                                                \
    do {                                                                                           \
        if (LOG_ENABLED(lvl))                                                                      \
            log__gated((lvl), (proxy), (event), NULL, 0, __VA_ARGS__);                             \
    } while (0)

/* The same with extra keys (JSON keys, or k=v in text after the message). */
#define LOG_KV(lvl, proxy, event, kv, nkv, ...)                                                    \
    do {                                                                                           \
        if (LOG_ENABLED(lvl))                                                                      \
            log__gated((lvl), (proxy), (event), (kv), (nkv), __VA_ARGS__);                         \
    } while (0)

/* One key/value of a connection event; `str` is used when not NULL, else `num`. */
struct log_kv {
    const char *key;
    const char *str;
    uint64_t num;
};

/* A line the log prints whatever its level (the listening lines: scripts wait for them); the
 * event streams still get it by their own level. */
void log__event(enum log_level lvl, const char *proxy, const char *event, const struct log_kv *kv,
                int nkv, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* LOG()'s: the log prints it if its level says so (LOG_ENABLED may be true for a stream). */
void log__gated(enum log_level lvl, const char *proxy, const char *event, const struct log_kv *kv,
                int nkv, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * A connection event, printed if the log's level says so: "web#3 +12.345ms client: FIN received
 * [CLOSE_WAIT] k=v ..." or the same as one JSON object. `leg` and `state` may be NULL; `text` is
 * the human part.
 */
void log__conn(enum log_level lvl, const char *proxy, uint64_t conn_id, double t_ms,
               const char *event, const char *leg, const char *state, const char *text,
               const struct log_kv *kv, int nkv);

/* Write `s` as a JSON string (with quotes) to `out`. */
void log_json_str(FILE *out, const char *s);
/* kv as the text of a JSON object, with the keys and values a JSON log line gives them
 * (malloc'd), or NULL when out of memory. */
char *log_kv_object(const struct log_kv *kv, int nkv);

/*
 * One event, whether it is written as text or JSON. A connection event has `conn` != 0;
 * `proxy`, `leg` and `state` may be NULL.
 */
struct log_line {
    enum log_level lvl;
    const char *event; /* the JSON key "event" */
    const char *proxy;
    uint64_t conn; /* the connection's id, 0: the event is about no connection */
    double t_ms;   /* a connection event's time since the accept */
    const char *leg;
    const char *state; /* finwait's TCP state on the leg */
    const struct log_kv *kv;
    int nkv;
    const char *msg; /* the human part */
};

/* The line as the text log prints it ("finwait: web#3 +1.250ms client: FIN received ..."),
 * with its newline. `finwait events` prints the stream's objects with it. */
void log_line_text(FILE *out, const struct log_line *l);
/* The line as the JSON log writes it: one object and a newline, stamped with the time now. */
void log_line_json(FILE *out, const struct log_line *l);
/* A log level's name ("info"), and back: false if `name` is none. */
const char *log_level_name(enum log_level lvl);
bool log_level_lookup(const char *name, enum log_level *out);

#endif
