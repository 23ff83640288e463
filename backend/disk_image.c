#include "disk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access_as.h"
#include "backends.h"
#include "cleanup.h"
#include "copy_tree.h"
#include "loop_device.h"
#include "spawn.h"

static int run_tool(const char *prog, char **args, int out_fd, struct bf_error *err)
{
	char path[PATH_MAX];
	int status;

	if (bf_find_program(prog, path, sizeof(path)) < 0)
		return bf_error_set(err, ENOENT, "%s is not installed", prog);
	args[0] = path;
	status = bf_spawn_wait(args, out_fd);
	if (status != 0)
		return bf_error_set(err, EIO, "%s failed (status %d)", prog, status);
	return 0;
}

int bf_loop_mount(const char *img, const char *dir, struct bf_error *err)
{
	cleanup_close int fd = open(img, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	cleanup_close int loop = -1;
	char dev[64];

	if (fd < 0)
		return bf_error_set(err, errno, "%s: %s", img, strerror(errno));
	/* Held only until the mount has it: autoclear frees the device with
	 * the last unmount. */
	loop = bf_loop_attach(fd, false, dev, sizeof(dev), err);
	if (loop < 0)
		return loop;
	if (mount(dev, dir, "ext4", MS_NOSUID | MS_NODEV, NULL) < 0)
		return bf_error_set(err, errno, "mount %s on %s: %s", img, dir, strerror(errno));
	return 0;
}

/* The copy workspace (WHAT "work", from `src`) and the guest user's home
 * (WHAT "home", empty) live in ext4 images of [limits] disk bytes each
 * (sparse: only what is written takes space), so a guest cannot fill the
 * host's disk through them. Made once: formatted, mounted here for the
 * copy (read as the manifest's writer, owned by the guest user's host
 * id), unmounted, renamed into place; the shim mounts each present image
 * at WHATfs/ at every start. */
static int make_image(const struct bf_bottle *b, const char *run_dir, const char *what,
		      const char *src, uid_t uid, gid_t gid, struct bf_error *err)
{
	char img[PATH_MAX], tmp[PATH_MAX], mnt[PATH_MAX], dst[PATH_MAX + 8];
	struct bf_caller writer;
	struct bf_copy_opts opts = { .chown_to = true, .uid = uid, .gid = gid, .no_symlinks = true };
	int fd, r;

	snprintf(img, sizeof(img), "%s/%s.img", run_dir, what);
	snprintf(tmp, sizeof(tmp), "%s/%s.img.tmp", run_dir, what);
	snprintf(mnt, sizeof(mnt), "%s/%s.mnt", run_dir, what);
	snprintf(dst, sizeof(dst), "%s/%s", mnt, what);
	umount2(mnt, MNT_DETACH);       /* a crash mid-copy left it mounted */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, b->manifest.disk) < 0) {
		r = bf_error_set(err, errno, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	close(fd);
	{
		char *mkfs[] = { NULL, "-q", "-F", "-m", "0", "-E",
				 "lazy_itable_init=1,lazy_journal_init=1", tmp, NULL };

		r = run_tool("mkfs.ext4", mkfs, -1, err);
	}
	if (r == 0 && mkdir(mnt, 0700) < 0 && errno != EEXIST)
		r = bf_error_set(err, errno, "mkdir %s: %s", mnt, strerror(errno));
	if (r == 0)
		r = bf_loop_mount(tmp, mnt, err);
	if (r == 0 && !src) {
		/* An empty tree of the guest user's (a home). */
		if (mkdir(dst, 0700) < 0 || chown(dst, uid, gid) < 0)
			r = bf_error_set(err, errno, "mkdir %s: %s", dst, strerror(errno));
	} else if (r == 0) {
		bf_caller_of_uid(b->meta.owner, &writer);
		if (b->meta.owner != 0)
			opts.read_as = &writer;
		r = bf_copy_tree(src, dst, &opts, err);
		if (r == -ENOSPC)
			bf_error_set(err, ENOSPC, "the workspace does not fit into [limits] disk (%lld bytes)",
				     b->manifest.disk);
	}
	if (umount2(mnt, 0) < 0 && r == 0 && errno != EINVAL)
		r = bf_error_set(err, errno, "umount %s: %s", mnt, strerror(errno));
	rmdir(mnt);
	if (r == 0 && rename(tmp, img) < 0)
		r = bf_error_set(err, errno, "rename %s: %s", tmp, strerror(errno));
	if (r < 0)
		unlink(tmp);
	return r;
}

/* WHATfs/ (where the shim mounts the image) and WHAT.img, made once. */
int bf_disk_image_ensure(const struct bf_bottle *b, const char *run_dir, const char *what,
			 const char *src, uid_t uid, gid_t gid, struct bf_error *err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%sfs", run_dir, what);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return bf_error_set(err, errno, "mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s.img", run_dir, what);
	if (access(path, F_OK) == 0)
		return 0;
	return make_image(b, run_dir, what, src, uid, gid, err);
}
