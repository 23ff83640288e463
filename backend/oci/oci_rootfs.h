/* The guest's file system for the oci backend: the bottle's storage dir
 * (STATE/run/NAME) holds rootfs/ (mount points and the host's top-level
 * symlinks), etc/ (the host's /etc without secrets), work/ (the copy-mode
 * workspace snapshot) and the runtime's config.json. */
#ifndef BOTTLEFS_OCI_ROOTFS_H
#define BOTTLEFS_OCI_ROOTFS_H

#include <sys/types.h>

#include "../bottle.h"

struct bf_guest_user {
	uid_t uid;
	gid_t gid;
};

/* Host directories a `host` image sees read-only when they are real
 * directories; when they are symlinks (merged /usr) the link is copied. */
extern const char *const bf_oci_host_dirs[];

/* Prepares storage for a start; the /etc and workspace snapshots are made
 * once, at the first start, and kept for restarts. */
int bf_oci_prepare(const struct bf_bottle *b, const char *run_dir,
		   struct bf_guest_user *user, struct bf_error *err);

#endif
