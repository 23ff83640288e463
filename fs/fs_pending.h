/* Names in new/ that are open for writing and not yet bottles. */
#ifndef BOTTLEFS_FS_PENDING_H
#define BOTTLEFS_FS_PENDING_H

#include <stdbool.h>

/* Reserves a name; false if someone is already writing it. */
bool fs_pending_add(const char *name);
void fs_pending_remove(const char *name);
bool fs_pending_has(const char *name);
/* Calls fn for each pending name (under the lock: fn must not block). */
void fs_pending_each(void (*fn)(void *ctx, const char *name), void *ctx);

#endif
