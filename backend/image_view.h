/* A file system image (a copy workspace's ext4 work.img) mounted
 * read-only for the host to look into, detached: in no mount namespace,
 * alive while an fd of it is open, gone with the last one. */
#ifndef BOTTLEFS_IMAGE_VIEW_H
#define BOTTLEFS_IMAGE_VIEW_H

#include "error.h"

/* An O_PATH directory fd of `subdir` of the ext4 image `image`, mounted
 * read-only (read-only loop device, no journal replay, nosuid, nodev,
 * noexec). -errno with err set on failure (-ENOENT: no image). */
int bf_image_view_open(const char *image, const char *subdir, int *out, struct bf_error *err);

#endif
