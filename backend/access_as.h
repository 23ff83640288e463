/* Whether a user could read a path, asked of the kernel itself. */
#ifndef BOTTLEFS_ACCESS_AS_H
#define BOTTLEFS_ACCESS_AS_H

#include <stddef.h>
#include <sys/types.h>

#define BF_MAX_GROUPS 64

/* Who asks: the process writing a manifest, as FUSE reports it. */
struct bf_caller {
	uid_t uid;
	gid_t gid;
	gid_t groups[BF_MAX_GROUPS];    /* supplementary groups */
	size_t n_groups;
};

/* The caller a uid stands for when only the uid was kept: its passwd
 * entry's group and its supplementary groups (none, and gid = uid, for a
 * uid without an entry). */
void bf_caller_of_uid(uid_t uid, struct bf_caller *out);

/* access(path, mode) with the caller's uid, gid and groups: every parent
 * directory, ACLs and all, as the kernel would decide for that user.
 * Returns 0 or -errno. */
int bf_access_as(const struct bf_caller *who, const char *path, int mode);

#endif
