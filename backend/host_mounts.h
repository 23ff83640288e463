/* What of the host a guest may be given: nothing of bottlefs's own state
 * directory, whichever backend mounts it. */
#ifndef BOTTLEFS_HOST_MOUNTS_H
#define BOTTLEFS_HOST_MOUNTS_H

#include <stdbool.h>

#include "error.h"
#include "manifest.h"

/* `path` is `dir` or below it ("/" holds everything). */
bool bf_path_within(const char *path, const char *dir);

/* The real path of the state directory of a bottle whose run directory is
 * STATE/run/NAME; false if it cannot be resolved. */
bool bf_state_dir_of(const char *run_dir, char *out);

/* No [[mount]] source holds or is in the state directory (EPERM). */
int bf_check_mount_sources(const struct bf_manifest *m, const char *run_dir,
			   struct bf_error *err);

#endif
