/*
 * Diagnostics collected while loading a configuration, reported all at once like a
 * compiler: "FILE:LINE:COL: error: MESSAGE", then the source line and a caret.
 */
#ifndef FINWAIT_RULES_DIAG_H
#define FINWAIT_RULES_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct diag_msg {
    char *file;     /* may be NULL for messages about no file in particular */
    unsigned line;  /* 1-based; 0 = no position */
    unsigned col;   /* 1-based; 0 = no position */
    char *text;     /* "unknown key 'upsteam' (did you mean 'upstream'?)" */
    char *src_line; /* the source line without its newline, or NULL */
};

struct diag {
    struct diag_msg *msgs;
    size_t n;
    size_t cap;
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);
/* Add an error. `src_line` is copied (may be NULL). */
void diag_add(struct diag *d, const char *file, unsigned line, unsigned col, const char *src_line,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Print every message, in the order added, with source line and caret. */
void diag_print(const struct diag *d, FILE *out);

#endif
