#include "rules/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_init(struct diag *d)
{
    memset(d, 0, sizeof *d);
}

void diag_free(struct diag *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->msgs[i].file);
        free(d->msgs[i].text);
        free(d->msgs[i].src_line);
    }
    free(d->msgs);
    diag_init(d);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void diag_add(struct diag *d, const char *file, unsigned line, unsigned col, const char *src_line,
              const char *fmt, ...)
{
    struct diag_msg *m;
    char text[1024];
    va_list ap;

    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct diag_msg *v = realloc(d->msgs, cap * sizeof *v);
        if (!v)
            return; /* out of memory: the message is lost, the failure is not */
        d->msgs = v;
        d->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    m = &d->msgs[d->n++];
    m->file = dup_or_null(file);
    m->line = line;
    m->col = col;
    m->text = strdup(text);
    m->src_line = dup_or_null(src_line);
}

void diag_print(const struct diag *d, FILE *out)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct diag_msg *m = &d->msgs[i];

        if (m->file && m->line)
            fprintf(out, "%s:%u:%u: error: %s\n", m->file, m->line, m->col, m->text);
        else if (m->file)
            fprintf(out, "%s: error: %s\n", m->file, m->text);
        else
            fprintf(out, "error: %s\n", m->text);
        if (!m->src_line || !m->line)
            continue;
        fprintf(out, "  %s\n  ", m->src_line);
        /* the caret sits under column col; tabs are kept so it lines up in a terminal */
        for (unsigned c = 1; c < m->col && m->src_line[c - 1]; c++)
            fputc(m->src_line[c - 1] == '\t' ? '\t' : ' ', out);
        fputs("^\n", out);
    }
}
