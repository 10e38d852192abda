#include "proxy/watch.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/log.h"
#include "rules/config.h"

struct watch {
    uv_loop_t *loop;
    char *path;                   /* as given: may be a symlink (a ConfigMap's) */
    char *dir;                    /* the directory `path` is in: renames over `path` happen there */
    char *real_dir;               /* the directory of the file `path` resolves to, when elsewhere */
    char name[NAME_MAX + 1];      /* `path`'s name in dir: an editor renames over it */
    char link_name[NAME_MAX + 1]; /* the first name of its symlink's target in dir (a
                                     ConfigMap's `..data`), or "" */
    char real_name[NAME_MAX + 1]; /* the name of the file in real_dir */
    uv_fs_event_t dir_ev;         /* on dir */
    uv_fs_event_t real_ev;        /* on real_dir (stopped when there is none) */
    uv_timer_t debounce;
    uint64_t first_event; /* loop time of the first event not yet followed by a read, or 0 */
    char *content;        /* the file's content when last read (or loaded) */
    size_t len;
    void (*changed)(void *arg);
    void *arg;
    int handles; /* not closed yet */
};

/* The directory of the file `path` finally names, if it is not `dir`; else NULL. */
static char *resolved_dir(const char *path, const char *dir)
{
    char real[PATH_MAX], real_of_dir[PATH_MAX], *d;

    if (!realpath(path, real) || !realpath(dir, real_of_dir))
        return NULL;
    d = dirname(real);
    return strcmp(d, real_of_dir) == 0 ? NULL : strdup(d);
}

static void on_event(uv_fs_event_t *h, const char *name, int events, int status);

/* Follow the file to where it lives now: a symlink may point into another directory, and
 * that directory may change when the symlink does. */
static void watch_real_dir(struct watch *w)
{
    char *d = resolved_dir(w->path, w->dir), target[PATH_MAX], real[PATH_MAX];
    ssize_t n = readlink(w->path, target, sizeof target - 1);

    /* "..data/finwait.yaml": a change of ..data is a change of the file */
    w->link_name[0] = '\0';
    if (n > 0 && target[0] != '/') {
        target[n] = '\0';
        snprintf(w->link_name, sizeof w->link_name, "%.*s", (int)strcspn(target, "/"), target);
    }
    w->real_name[0] = '\0';
    if (realpath(w->path, real))
        snprintf(w->real_name, sizeof w->real_name, "%s", basename(real));

    if ((!d && !w->real_dir) || (d && w->real_dir && strcmp(d, w->real_dir) == 0)) {
        free(d);
        return;
    }
    uv_fs_event_stop(&w->real_ev);
    free(w->real_dir);
    w->real_dir = d;
    if (d && uv_fs_event_start(&w->real_ev, on_event, d, 0) < 0) {
        free(w->real_dir);
        w->real_dir = NULL;
    }
}

static void on_debounce(uv_timer_t *t)
{
    struct watch *w = t->data;
    char *text = NULL;
    size_t len = 0;

    w->first_event = 0;
    watch_real_dir(w);
    /* Missing for a moment (deleted, then written again): the write brings another event. */
    if (config_read_file(w->path, &text, &len, NULL) < 0)
        return;
    if (len == w->len && memcmp(text, w->content, len) == 0) {
        free(text);
        return;
    }
    free(w->content);
    w->content = text;
    w->len = len;
    w->changed(w->arg);
}

/* Something in a watched directory changed: read the file once things are quiet. What changes
 * in a ConfigMap's directory is `..data`, not the file: the names that lead to the file count. */
static void on_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    struct watch *w = h->data;
    uint64_t now = uv_now(w->loop), delay = WATCH_DEBOUNCE_MS;

    (void)events;
    if (status < 0) {
        LOG(LOG_LEVEL_DEBUG, NULL, "watch", "watching %s: %s", w->dir, uv_strerror(status));
        return;
    }
    /* Other files of the directory (a log written next to the config) wake nothing up. */
    if (name && h == &w->dir_ev && strcmp(name, w->name) != 0 &&
        (!w->link_name[0] || strcmp(name, w->link_name) != 0))
        return;
    if (name && h == &w->real_ev && strcmp(name, w->real_name) != 0)
        return;
    if (!w->first_event)
        w->first_event = now;
    if (w->first_event + WATCH_MAX_DELAY_MS < now + delay)
        delay = w->first_event + WATCH_MAX_DELAY_MS > now
                    ? w->first_event + WATCH_MAX_DELAY_MS - now
                    : 0;
    uv_timer_start(&w->debounce, on_debounce, delay, 0);
}

static void free_watch(struct watch *w)
{
    free(w->path);
    free(w->dir);
    free(w->real_dir);
    free(w->content);
    free(w);
}

static void on_closed(uv_handle_t *h)
{
    struct watch *w = h->data;

    if (--w->handles == 0)
        free_watch(w);
}

int watch_start(struct watch **out, uv_loop_t *loop, const char *path, const char *content,
                size_t len, void (*changed)(void *arg), void *arg)
{
    struct watch *w = calloc(1, sizeof *w);
    char *copy = strdup(path);
    int r;

    *out = NULL;
    if (!w || !copy)
        goto oom;
    w->loop = loop;
    w->path = strdup(path);
    snprintf(w->name, sizeof w->name, "%s", basename(copy));
    w->dir = strdup(dirname(copy));
    w->content = malloc(len ? len : 1);
    if (!w->path || !w->dir || !w->content)
        goto oom;
    memcpy(w->content, content, len);
    w->len = len;
    w->changed = changed;
    w->arg = arg;
    uv_fs_event_init(loop, &w->dir_ev);
    uv_fs_event_init(loop, &w->real_ev);
    uv_timer_init(loop, &w->debounce);
    w->dir_ev.data = w->real_ev.data = w->debounce.data = w;
    w->handles = 3;
    r = uv_fs_event_start(&w->dir_ev, on_event, w->dir, 0);
    if (r < 0) {
        watch_stop(w);
        free(copy);
        return r;
    }
    watch_real_dir(w);
    /* The file may have changed between its load and now, with no event left to tell: look
     * once, as after an event. */
    w->first_event = uv_now(loop);
    uv_timer_start(&w->debounce, on_debounce, WATCH_DEBOUNCE_MS, 0);
    LOG(LOG_LEVEL_DEBUG, NULL, "watch", "watching %s for changes of %s", w->dir, w->path);
    free(copy);
    *out = w;
    return 0;
oom:
    if (w)
        free_watch(w);
    free(copy);
    return UV_ENOMEM;
}

void watch_seen(struct watch *w, const char *content, size_t len)
{
    char *copy = malloc(len ? len : 1);

    if (!copy)
        return; /* the next change reads the file again, nothing worse */
    memcpy(copy, content, len);
    free(w->content);
    w->content = copy;
    w->len = len;
}

void watch_stop(struct watch *w)
{
    uv_close((uv_handle_t *)&w->dir_ev, on_closed);
    uv_close((uv_handle_t *)&w->real_ev, on_closed);
    uv_close((uv_handle_t *)&w->debounce, on_closed);
}
