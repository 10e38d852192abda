/*
 * The tests' assertion layer: never compiled out, prints both values and where.
 * A failed CHECK ends the test at once with exit status 1.
 */
#ifndef FW_TEST_CHECK_H
#define FW_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_CMP_(a, op, b, fmt, type)                                                            \
    do {                                                                                           \
        type va_ = (type)(a), vb_ = (type)(b);                                                     \
        if (!(va_ op vb_)) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s %s %s (" fmt " vs " fmt ")\n", __FILE__,      \
                    __LINE__, #a, #op, #b, va_, vb_);                                              \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, op, b)  CHECK_CMP_(a, op, b, "%" PRId64, int64_t)
#define CHECK_UINT(a, op, b) CHECK_CMP_(a, op, b, "%" PRIu64, uint64_t)
#define CHECK_DBL(a, op, b)  CHECK_CMP_(a, op, b, "%g", double)
#define CHECK_EQ(a, b)       CHECK_INT(a, ==, b)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                               \
            fprintf(stderr,                                                                        \
                    "%s:%d: CHECK failed: %s == %s\n  got:      \"%s\"\n  expected: \"%s\"\n",     \
                    __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");       \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s contains \"%s\"\n  in: \"%s\"\n", __FILE__,   \
                    __LINE__, #hay, n_, h_ ? h_ : "(null)");                                       \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* Print one line for a passed sub-test, so a failing run shows how far it got. */
#define TEST_PASS(name) fprintf(stderr, "ok - %s\n", name)

#endif
