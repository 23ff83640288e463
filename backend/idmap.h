/* User namespaces as id maps, and idmapped mounts (mount_setattr(2)
 * MOUNT_ATTR_IDMAP): how a guest's ids become host ids that belong to no
 * host account, and how a bind workspace still shows the guest's files
 * as owned by the workspace's owner. */
#ifndef BOTTLEFS_IDMAP_H
#define BOTTLEFS_IDMAP_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Ids per bottle: guest ids 0..65535 map to host base..base+65535. */
#define BF_IDS_PER_BOTTLE 65536u
/* The default range bottlefs owns (mount option idbase=): 16384 bottles
 * of 65536 ids from 2^30, ending below 2^31 (tools that read ids as
 * signed ints stay right). */
#define BF_ID_BASE_DEFAULT 1073741824u
#define BF_ID_RANGE_END 2147483648u

/* One line of a uid_map/gid_map: ns ids [inside, inside+count) are host
 * ids [outside, outside+count). */
struct bf_idmap_line {
	unsigned inside, outside, count;
};

/* The line of a uid_map/gid_map text that maps id 0 (false if none). */
bool bf_idmap_parse_root(const char *text, struct bf_idmap_line *out);

/* That line of /proc/PID/`which` ("uid_map", "gid_map"): -errno if it
 * cannot be read, -ENOENT if it maps no id 0. */
int bf_idmap_read_root(pid_t pid, const char *which, struct bf_idmap_line *out);

/* A user namespace with these maps, as an fd (setns or MOUNT_ATTR_IDMAP).
 * Forks a child briefly: call it from a single-threaded process (the
 * shim). Returns the fd or -errno with err set. */
int bf_userns_open(const struct bf_idmap_line *uids, const struct bf_idmap_line *gids,
		   struct bf_error *err);

/* A detached copy of the mount at `dirfd` (not its submounts), idmapped
 * through `userns_fd`, nosuid and nodev: attach it with move_mount(2).
 * Returns the mount fd or -errno with err set (EINVAL or ENOTSUP when the
 * filesystem cannot be idmapped). */
int bf_idmapped_clone(int dirfd, int userns_fd, struct bf_error *err);

/* True if no line of `passwd_path` names a uid in [base, base+count):
 * a bottle's range must hold no host account. */
bool bf_idrange_free_of_accounts(const char *passwd_path, unsigned long long base,
				 unsigned long long count);

#endif
