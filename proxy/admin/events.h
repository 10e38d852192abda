/*
 * The event hub behind `GET /events`: subscribers, each with a bounded buffer of the log's
 * JSON lines, filled by proxy/log.c and emptied by the HTTP layer as its socket takes them.
 *
 * The relay never waits for a subscriber: a line that does not fit in a subscriber's buffer
 * ends that subscriber's stream (it is dropped) instead of growing the buffer or slowing the
 * loop. With no subscriber, nothing is formatted for the hub at all (log.c's level gate).
 */
#ifndef FINWAIT_PROXY_EVENTS_H
#define FINWAIT_PROXY_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rules/config.h"

/* What a subscriber may hold unread: past this it is dropped. About 4,000 connection events. */
#define EVENTS_BUF_MAX (1024 * 1024)

struct events_sub;

/* How a stream stands, for the HTTP layer. */
enum events_end {
    EVENTS_OPEN,    /* lines may still come */
    EVENTS_STOPPED, /* finwait stops: send what is buffered, then end the stream cleanly */
    EVENTS_DROPPED, /* the subscriber fell EVENTS_BUF_MAX behind: cut it, send nothing more */
    EVENTS_GONE,    /* the subscriber went away: cut it */
};

/*
 * Subscribe to events up to `level`, of proxy `proxy` only (NULL: all, also those of no
 * proxy). `proxy` is copied. Returns 0 or UV_ENOMEM.
 */
int events_subscribe(struct events_sub **out, enum log_level level, const char *proxy);
/*
 * Who to tell when the subscriber has something to read after events_read() found nothing,
 * or when its stream ends: called from wherever the event was logged, so it must only take
 * note (resume an HTTP connection), never log or unsubscribe.
 */
void events_set_wake(struct events_sub *s, void (*wake)(void *ctx), void *ctx);
/*
 * Copy up to `max` buffered bytes to buf. Returns the count; 0 when there is nothing now
 * (wake is called when there is); or a negative number when the stream is over and
 * everything was read: then events_state() says why.
 */
ssize_t events_read(struct events_sub *s, char *buf, size_t max);
enum events_end events_state(const struct events_sub *s);
/* Bytes buffered for s now. */
size_t events_pending(const struct events_sub *s);
/* End s's stream (EVENTS_GONE or EVENTS_STOPPED); its buffer goes when GONE. Wakes it. */
void events_end(struct events_sub *s, enum events_end why);
/* Free s. Its wake is not called again. */
void events_unsubscribe(struct events_sub *s);
/* Streams open now. */
unsigned events_subscribers(void);
/* finwait stops: every stream ends after what it has buffered. */
void events_stop_all(void);

/* For proxy/log.c: is any subscriber interested in an event of `level` about `proxy`? */
bool events_wanted(enum log_level level, const char *proxy);
/* For proxy/log.c: one JSON line (with its newline) to every subscriber that wants it. */
void events_publish(enum log_level level, const char *proxy, const char *line, size_t len);

#endif
