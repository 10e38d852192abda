#include "proxy/log.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

enum log_level log_level_enabled = LOG_LEVEL_INFO;
static FILE *log_fp;
static enum log_format log_fmt = LOG_FORMAT_TEXT;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_init(FILE *out, enum log_format format, enum log_level level)
{
    log_fp = out;
    log_fmt = format;
    log_level_enabled = level;
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

/* The keys every JSON line starts with. */
static void json_open(FILE *out, enum log_level lvl, const char *event)
{
    json_ts(out);
    fprintf(out, ",\"level\":\"%s\"", level_names[lvl]);
    json_field(out, "event", event);
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

static void kv_text(FILE *out, const struct log_kv *kv, int nkv)
{
    for (int i = 0; i < nkv; i++) {
        if (kv[i].str)
            fprintf(out, " %s=%s", kv[i].key, kv[i].str);
        else
            fprintf(out, " %s=%llu", kv[i].key, (unsigned long long)kv[i].num);
    }
}

void log__event(enum log_level lvl, const char *proxy, const char *event, const struct log_kv *kv,
                int nkv, const char *fmt, ...)
{
    FILE *out = log_out();
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    flockfile(out);
    if (log_fmt == LOG_FORMAT_JSON) {
        json_open(out, lvl, event);
        json_field(out, "proxy", proxy);
        kv_json(out, kv, nkv);
        json_field(out, "msg", msg);
        fputs("}\n", out);
    } else {
        fputs("finwait: ", out);
        if (lvl <= LOG_LEVEL_WARN)
            fprintf(out, "%s: ", level_names[lvl]);
        if (proxy)
            fprintf(out, "%s: ", proxy);
        fputs(msg, out);
        fputc('\n', out);
    }
    funlockfile(out);
    fflush(out);
}

void log__conn(enum log_level lvl, const char *proxy, uint64_t conn_id, double t_ms,
               const char *event, const char *leg, const char *state, const char *text,
               const struct log_kv *kv, int nkv)
{
    FILE *out = log_out();

    flockfile(out);
    if (log_fmt == LOG_FORMAT_JSON) {
        json_open(out, lvl, event);
        json_field(out, "proxy", proxy);
        fprintf(out, ",\"conn\":%llu,\"t_ms\":%.3f", (unsigned long long)conn_id, t_ms);
        json_field(out, "leg", leg);
        json_field(out, "state", state);
        kv_json(out, kv, nkv);
        json_field(out, "msg", text);
        fputs("}\n", out);
    } else {
        fprintf(out, "finwait: %s#%llu +%.3fms ", proxy, (unsigned long long)conn_id, t_ms);
        if (leg)
            fprintf(out, "%s: ", leg);
        fputs(text, out);
        if (state)
            fprintf(out, " [%s]", state);
        kv_text(out, kv, nkv);
        fputc('\n', out);
    }
    funlockfile(out);
    fflush(out);
}
