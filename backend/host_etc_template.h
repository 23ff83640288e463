/* The host's /etc as `image = "host"` shows it, shared: one filtered copy
 * (STATE/host-etc/SIG) per state of the host's /etc, made by the first
 * start that needs it, which every bottle first started while /etc stays
 * so links to (RUN_DIR/host-etc, a symlink) and keeps. A bottle's own
 * passwd and group lie beside it. Copying /etc per bottle cost ~1400
 * inodes and most of a first start. */
#ifndef BOTTLEFS_HOST_ETC_TEMPLATE_H
#define BOTTLEFS_HOST_ETC_TEMPLATE_H

#include <stdint.h>

#include "error.h"

/* The name of the link in a bottle's run directory. */
#define BF_HOST_ETC_LINK "host-etc"

/* A hash of what a copy of `root` through bf_host_etc_keep holds: the
 * relative name, type, mode, owner, size, times and inode of every kept
 * entry. An unchanged hash means an unchanged copy. 0 or -errno. */
int bf_host_etc_signature(const char *root, uint64_t *out);

/* Makes RUN_DIR/host-etc point at STATE/host-etc/SIG, the filtered copy
 * of `root` (normally "/etc") as it is now, making it if none is there;
 * when it makes one, it removes the copies no bottle links to any more.
 * The link appears whole or not at all. 0, or -errno with err set. */
int bf_host_etc_link(const char *state_dir, const char *root, const char *run_dir,
		     struct bf_error *err);

#endif
