/* The per-bottle ext4 images, "work" (a copy workspace) and "home" (the
 * guest user's home): sparse files of [limits] disk bytes, so that a guest
 * cannot fill the host's disk through them, made once and kept across
 * restarts; the backend mounts them for each start. */
#ifndef BOTTLEFS_DISK_IMAGE_H
#define BOTTLEFS_DISK_IMAGE_H

#include <sys/types.h>

#include "bottle.h"
#include "error.h"

/* RUN_DIR/WHATfs/ (a mount point) and RUN_DIR/WHAT.img holding WHAT/: a
 * copy of `src` read as the manifest's writer (or, without `src`, an empty
 * directory), owned by host ids uid:gid. Does nothing for an image that
 * exists; a crash while making one leaves nothing half made. */
int bf_disk_image_ensure(const struct bf_bottle *b, const char *run_dir, const char *what,
			 const char *src, uid_t uid, gid_t gid, struct bf_error *err);

/* Mounts the ext4 image file `img` at `dir` through a loop device, nosuid
 * and nodev: in the caller's mount namespace. 0, or -errno with err set. */
int bf_loop_mount(const char *img, const char *dir, struct bf_error *err);

#endif
