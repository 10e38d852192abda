/*
 * Watching the configuration file: a change of its content calls back, without a signal.
 *
 * The directory is watched, not the file: editors replace a file by renaming a new one over
 * it, and Kubernetes updates a ConfigMap volume by renaming a new `..data` symlink over the
 * old one, so the file's own inode never changes. Events are debounced and the content is
 * compared, so a touch of another file in the directory reloads nothing.
 */
#ifndef FINWAIT_PROXY_WATCH_H
#define FINWAIT_PROXY_WATCH_H

#include <stddef.h>
#include <uv.h>

struct watch;

/* Quiet time after the last event in the directory before the file is read. */
#define WATCH_DEBOUNCE_MS 200
/* Under events that never stop (a log file next to the config), read at least this often. */
#define WATCH_MAX_DELAY_MS 1000

/*
 * Watch `path` (followed through symlinks when read). `content` is what was loaded from it
 * (the starting point of the comparison). `changed(arg)` is called on the loop when the
 * content differs from the last seen. Returns 0, or a negative UV_E* code.
 */
int watch_start(struct watch **out, uv_loop_t *loop, const char *path, const char *content,
                size_t len, void (*changed)(void *arg), void *arg);

/* The file was read elsewhere (SIGHUP): compare with this content from now on, so the
 * watcher does not load it a second time. */
void watch_seen(struct watch *w, const char *content, size_t len);

/* Stop watching; handles close asynchronously and the watch is freed after. */
void watch_stop(struct watch *w);

#endif
