/* The guest user a manifest names: root, a number, a name in the image's
 * /etc/passwd, or, for an /etc that is bottlefs's own copy, a name added
 * to it with the first free id from 1000. */
#ifndef BOTTLEFS_GUEST_USER_H
#define BOTTLEFS_GUEST_USER_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "manifest.h"

/* The guest as a backend starts it. */
struct bf_guest_user {
	uid_t uid;              /* inside the bottle's user namespace */
	gid_t gid;
	unsigned long long id_base; /* host id of guest id 0 */
	/* bind workspace: its owner on the host, whom the guest user stands
	 * for through the idmapped mount */
	bool ws_idmap;
	uid_t ws_uid;
	gid_t ws_gid;
	/* copy workspace: in work.img (an ext4 image of [limits] disk bytes),
	 * else the older work/ directory */
	bool work_image;
};

/* Resolves m->user against ETC_DIR/passwd (and, when `writable`, adds a
 * missing name to ETC_DIR/passwd and ETC_DIR/group). Sets user->uid and
 * user->gid; -errno with err set (EINVAL: an unknown name, not writable). */
int bf_guest_user_resolve(const struct bf_manifest *m, const char *etc_dir, bool writable,
			  struct bf_guest_user *user, struct bf_error *err);

#endif
