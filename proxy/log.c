#include "proxy/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "proxy/admin/events.h"

enum log_level log_level_enabled = LOG_LEVEL_INFO;
static enum log_level log_level_out = LOG_LEVEL_INFO; /* what the log itself prints */
static int stream_level = -1; /* the event streams' most detailed level; -1: no stream */
static FILE *log_fp;
static enum log_format log_fmt = LOG_FORMAT_TEXT;

/* JSON lines are formatted here once, then written to the log, the streams, or both; the
 * buffer is open_memstream's and is kept for the next line. */
static FILE *json_fp;
static char *json_buf;
static size_t json_len;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static void update_enabled(void)
{
    log_level_enabled =
        stream_level > (int)log_level_out ? (enum log_level)stream_level : log_level_out;
}

void log_init(FILE *out, enum log_format format, enum log_level level)
{
    log_fp = out;
    log_fmt = format;
    log_level_out = level;
    update_enabled();
}

void log__set_stream_level(int level)
{
    stream_level = level;
    update_enabled();
}

const char *log_level_name(enum log_level lvl)
{
    return (unsigned)lvl < sizeof level_names / sizeof level_names[0] ? level_names[lvl] : "?";
}

bool log_level_lookup(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (strcmp(name, level_names[i]) == 0)
            return *out = (enum log_level)i, true;
    return false;
}

FILE *log_out(void)
{
    return log_fp ? log_fp : stderr;
}

enum log_format log_format_get(void)
{
    return log_fmt;
}

void log_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

/* Wall-clock time for JSON lines, so logs of several processes can be merged. */
static void json_ts(FILE *out)
{
    struct timeval tv;
    struct tm tm;
    char buf[32];

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(out, "{\"ts\":\"%s.%06ldZ\"", buf, (long)tv.tv_usec);
}

/* `,"key":"value"`, or nothing when value is NULL. */
static void json_field(FILE *out, const char *key, const char *value)
{
    if (!value)
        return;
    fprintf(out, ",\"%s\":", key);
    log_json_str(out, value);
}

static void kv_json(FILE *out, const struct log_kv *kv, int nkv)
{
    for (int i = 0; i < nkv; i++) {
        fputc(',', out);
        log_json_str(out, kv[i].key);
        fputc(':', out);
        if (kv[i].str)
            log_json_str(out, kv[i].str);
        else
            fprintf(out, "%llu", (unsigned long long)kv[i].num);
    }
}

char *log_kv_object(const struct log_kv *kv, int nkv)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (!f)
        return NULL;
    fputc('{', f);
    kv_json(f, kv, nkv);
    fputc('}', f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    if (nkv > 0)
        memmove(text + 1, text + 2, len - 1); /* kv_json's leading comma, with the NUL */
    return text;
}

static void kv_text(FILE *out, const struct log_kv *kv, int nkv)
{
    for (int i = 0; i < nkv; i++) {
        if (kv[i].str)
            fprintf(out, " %s=%s", kv[i].key, kv[i].str);
        else
            fprintf(out, " %s=%llu", kv[i].key, (unsigned long long)kv[i].num);
    }
}

void log_line_json(FILE *out, const struct log_line *l)
{
    json_ts(out);
    fprintf(out, ",\"level\":\"%s\"", log_level_name(l->lvl));
    json_field(out, "event", l->event);
    json_field(out, "proxy", l->proxy);
    if (l->conn) {
        fprintf(out, ",\"conn\":%llu,\"t_ms\":%.3f", (unsigned long long)l->conn, l->t_ms);
        json_field(out, "leg", l->leg);
        json_field(out, "state", l->state);
    }
    kv_json(out, l->kv, l->nkv);
    json_field(out, "msg", l->msg);
    fputs("}\n", out);
}

void log_line_text(FILE *out, const struct log_line *l)
{
    if (l->conn) {
        fprintf(out, "finwait: %s#%llu +%.3fms ", l->proxy ? l->proxy : "?",
                (unsigned long long)l->conn, l->t_ms);
        if (l->leg)
            fprintf(out, "%s: ", l->leg);
        fputs(l->msg ? l->msg : "", out);
        if (l->state)
            fprintf(out, " [%s]", l->state);
        kv_text(out, l->kv, l->nkv);
    } else {
        /* the keys of a line about no connection are for machines: the text says it all */
        fputs("finwait: ", out);
        if (l->lvl <= LOG_LEVEL_WARN)
            fprintf(out, "%s: ", log_level_name(l->lvl));
        if (l->proxy)
            fprintf(out, "%s: ", l->proxy);
        fputs(l->msg ? l->msg : "", out);
    }
    fputc('\n', out);
}

/* l as a JSON line in json_buf (json_len bytes); false if it could not be formatted. */
static bool format_json(const struct log_line *l)
{
    if (!json_fp)
        json_fp = open_memstream(&json_buf, &json_len);
    if (!json_fp)
        return false;
    rewind(json_fp);
    log_line_json(json_fp, l);
    return fflush(json_fp) == 0 && json_len > 0;
}

/* The one way out of every line: to the log if its level says so, and as JSON to the event
 * streams that want it, formatted once for both. */
static void emit(const struct log_line *l, bool always)
{
    bool to_log = always || l->lvl <= log_level_out;
    bool to_streams = (int)l->lvl <= stream_level && events_wanted(l->lvl, l->proxy);
    bool json = to_streams || (to_log && log_fmt == LOG_FORMAT_JSON);
    FILE *out = log_out();

    if (json && !format_json(l))
        json = to_streams = false;
    if (to_log) {
        flockfile(out);
        if (log_fmt == LOG_FORMAT_JSON) {
            if (json)
                fwrite(json_buf, 1, json_len, out);
        } else {
            log_line_text(out, l);
        }
        funlockfile(out);
        fflush(out);
    }
    if (to_streams)
        events_publish(l->lvl, l->proxy, json_buf, json_len);
}

static void event_v(bool always, enum log_level lvl, const char *proxy, const char *event,
                    const struct log_kv *kv, int nkv, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof msg, fmt, ap);
    emit(
        &(struct log_line){
            .lvl = lvl, .event = event, .proxy = proxy, .kv = kv, .nkv = nkv, .msg = msg},
        always);
}

void log__event(enum log_level lvl, const char *proxy, const char *event, const struct log_kv *kv,
                int nkv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    event_v(true, lvl, proxy, event, kv, nkv, fmt, ap);
    va_end(ap);
}

void log__gated(enum log_level lvl, const char *proxy, const char *event, const struct log_kv *kv,
                int nkv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    event_v(false, lvl, proxy, event, kv, nkv, fmt, ap);
    va_end(ap);
}

void log__conn(enum log_level lvl, const char *proxy, uint64_t conn_id, double t_ms,
               const char *event, const char *leg, const char *state, const char *text,
               const struct log_kv *kv, int nkv)
{
    emit(&(struct log_line){.lvl = lvl,
                            .event = event,
                            .proxy = proxy,
                            .conn = conn_id,
                            .t_ms = t_ms,
                            .leg = leg,
                            .state = state,
                            .kv = kv,
                            .nkv = nkv,
                            .msg = text},
         false);
}
