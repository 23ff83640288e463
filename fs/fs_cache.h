/* What the kernel may keep of the tree, and telling it when that changed.
 *
 * The root, new/, a bottle's directory, its exec/ directory and its
 * rendered files (manifest, plan.toml, env, network.yaml, status, ctl,
 * allow) stay the same until the registry says the bottle changed: the
 * kernel keeps their names, attributes and pages, so `ls -l`, `stat` and
 * `cat` of an unchanged file do not reach the daemon. The names of the
 * other fixed files (errors, backends, cleanup, log, egress, exec/run)
 * are kept too, not their sizes. A notifier thread drops them
 * (fuse_lowlevel_notify_inval_inode) when the registry's change hook
 * names the bottle; it never runs in a request's own path (libfuse's
 * notify_inval_inode example). Sessions, new/NAME and the workspace view
 * come and go and are never cached. A request that may have changed something (a
 * write, a close, mkdir, rmdir) is answered only once the invalidations
 * due so far are done, so the writer's next stat or read sees the
 * change. */
#ifndef BOTTLEFS_FS_CACHE_H
#define BOTTLEFS_FS_CACHE_H

#include <stdbool.h>

#include "fs.h"

/* Seconds the kernel may keep the name of `path` (entry) and its
 * attributes (attr): 0 for what is never cached. */
void fs_cache_timeouts(const char *path, double *entry, double *attr);

/* A read-only open of `path` may keep the pages read before. */
bool fs_cache_keeps_pages(const char *path);

/* Starts the notifier; inode_of gives the inode the kernel knows `path`
 * by, or 0. Returns -errno if the thread cannot start (nothing is cached
 * then: fs_cache_timeout and fs_cache_keeps_pages say so). */
int fs_cache_start(struct fuse_session *se, struct bf_registry *reg,
		   fuse_ino_t (*inode_of)(const char *path));

/* The registry's change hook: notes the bottle, wakes the notifier. Takes
 * only the notifier's own lock. */
void fs_cache_changed(void *ctx, const char *name);

/* Returns once every change noted so far is invalidated (or after a
 * second, should the kernel be slow to take them). */
void fs_cache_sync(void);

void fs_cache_stop(void);

#endif
