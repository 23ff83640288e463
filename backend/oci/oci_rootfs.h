/* The guest's file system for the oci backend: the bottle's storage dir
 * (STATE/run/NAME, root:GUEST_ROOT_GID 0710) holds rootfs/ (bottlefs's own
 * root: mount points and the image's top-level symlinks, owned by the
 * guest's mapped root; the image is bind-mounted into it read-only and
 * never written), host-etc (a link to the shared copy of the host's /etc
 * without secrets, host_etc_template.h) and etc-user/ (the bottle's own
 * passwd and group, mounted over that copy's), or, for a bottle first
 * started before copies were shared, etc/ (a whole copy), work/ (the
 * copy-mode workspace snapshot, owned by the guest user's host id),
 * workspace/ (where the shim attaches the idmapped bind workspace) and the
 * runtime's config.json. */
#ifndef BOTTLEFS_OCI_ROOTFS_H
#define BOTTLEFS_OCI_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../bottle.h"
#include "../guest_process.h"
#include "../guest_user.h"

/* The guest's init inside the rootfs (a read-only bind of bottlefs-init). */
#define BF_OCI_INIT_PATH "/" BF_GUEST_INIT_NAME

/* RUN_DIR/etc-user: the bottle's passwd and group for image = "host". */
#define BF_OCI_ETC_USER "etc-user"

/* Top-level names of an image that bottlefs mounts itself. */
bool bf_oci_image_entry_ours(const char *name);

/* Where bottlefs-init is: beside our executable (a build tree), else the
 * installed libexec path. 0 or -ENOENT. */
int bf_oci_find_init(char *out, size_t len);

/* Host directories a `host` image sees read-only when they are real
 * directories; when they are symlinks (merged /usr) the link is copied. */
extern const char *const bf_oci_host_dirs[];

/* Prepares storage for a start; the /etc and workspace snapshots are made
 * once, at the first start, and kept for restarts. */
int bf_oci_prepare(const struct bf_bottle *b, const char *run_dir,
		   struct bf_guest_user *user, struct bf_error *err);

#endif
