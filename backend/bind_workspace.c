#include "bind_workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "idmap.h"

int bf_bind_workspace_check(const struct bf_bottle *b, struct bf_guest_user *user,
			    struct bf_error *err)
{
	const char *path = b->manifest.workspace_path;
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };
	cleanup_close int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	struct stat st;

	if (fd < 0)
		return bf_error_set(err, errno, "workspace %s: %s%s", path, strerror(errno),
				    errno == ELOOP ? " (a bind workspace's path may hold no symlink)" : "");
	if (fstat(fd, &st) < 0)
		return bf_error_set(err, errno, "workspace %s: %s", path, strerror(errno));
	if (st.st_uid == 0)
		return bf_error_set(err, EPERM,
				    "bind workspace %s is owned by root: the guest's files would be root's on the host (chown it to the user the agent works for, or use mode = \"copy\")",
				    path);
	if (b->meta.owner != 0 && st.st_uid != b->meta.owner)
		return bf_error_set(err, EPERM, "bind workspace %s is not owned by the manifest's writer (uid %u)",
				    path, (unsigned)b->meta.owner);
	user->ws_idmap = true;
	user->ws_uid = st.st_uid;
	user->ws_gid = st.st_gid;
	return 0;
}

int bf_bind_workspace_attach(const char *spec, const char *target, struct bf_error *err)
{
	unsigned owner_uid, owner_gid, host_uid, host_gid;
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };
	cleanup_close int dirfd = -1, userns = -1, mnt = -1;
	struct stat st;
	int n = 0;

	if (sscanf(spec, "%u:%u:%u:%u:%n", &owner_uid, &owner_gid, &host_uid, &host_gid, &n) != 4 ||
	    n == 0)
		return bf_error_set(err, EINVAL, "bad workspace spec");
	dirfd = (int)syscall(SYS_openat2, AT_FDCWD, spec + n, &how, sizeof(how));
	if (dirfd < 0 || fstat(dirfd, &st) < 0)
		return bf_error_set(err, errno, "workspace %s: %s", spec + n, strerror(errno));
	/* Checked by the daemon; a swap since then is refused. */
	if (st.st_uid != owner_uid || st.st_gid != owner_gid)
		return bf_error_set(err, EPERM, "workspace %s changed owner since it was checked", spec + n);
	{
		const struct bf_idmap_line uids[] = { { owner_uid, host_uid, 1 }, { 0, 0, 0 } };
		const struct bf_idmap_line gids[] = { { owner_gid, host_gid, 1 }, { 0, 0, 0 } };

		userns = bf_userns_open(uids, gids, err);
	}
	if (userns < 0)
		return userns;
	mnt = bf_idmapped_clone(dirfd, userns, err);
	if (mnt < 0)
		return mnt;
	if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return bf_error_set(err, errno, "workspace %s: move_mount to %s: %s", spec + n, target,
				    strerror(errno));
	return 0;
}

void bf_bind_workspace_spec(const struct bf_guest_user *user, unsigned long long host_uid,
			    unsigned long long host_gid, const char *path, char *out, size_t len)
{
	snprintf(out, len, "%u:%u:%llu:%llu:%s", (unsigned)user->ws_uid, (unsigned)user->ws_gid,
		 host_uid, host_gid, path);
}
