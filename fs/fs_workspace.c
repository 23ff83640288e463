#include "fs_workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../backend/cleanup.h"

/* `rel` beneath the copy's root: no "..", no absolute path, no link out
 * of it and no other file system. -ENOENT when there is no copy (yet). */
static int resolve(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	struct bf_error err = { 0 };
	cleanup_close int root = -1;
	int r = view == VIEW_GIT_MIRROR ? bf_registry_git_view(reg, name, &root, &err)
					: bf_registry_workspace_view(reg, name, &root, &err);
	int fd;

	if (r < 0)
		return r;
	fd = (int)syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

int fs_workspace_getattr(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel,
			 struct stat *st)
{
	cleanup_close int fd = resolve(reg, view, name, rel, O_PATH);
	struct stat real;
	mode_t keep;

	if (fd == -ENOENT && !*rel) {
		/* No copy yet: an empty directory. */
		st->st_mode = S_IFDIR | 0500;
		st->st_nlink = 2;
		return 0;
	}
	if (fd < 0)
		return fd;
	if (fstat(fd, &real) < 0)
		return -errno;
	/* The guest's bits, so that a copy taken keeps them; writes fail
	 * with EROFS whatever they say. */
	keep = real.st_mode & 0777;
	keep |= S_ISDIR(real.st_mode) ? 0500 : 0400;
	st->st_mode = (real.st_mode & S_IFMT) | (*rel ? keep : 0500);
	/* A fifo, socket or device the guest made would be opened by the
	 * host's kernel itself (a fifo blocks its reader for ever): shown
	 * as an empty file nobody may open. */
	if (!S_ISDIR(real.st_mode) && !S_ISREG(real.st_mode) && !S_ISLNK(real.st_mode)) {
		st->st_mode = S_IFREG;
		st->st_nlink = 1;
		st->st_size = st->st_blocks = 0;
		st->st_mtim = real.st_mtim;
		st->st_ctim = st->st_atim = real.st_ctim;
		return 0;
	}
	st->st_nlink = real.st_nlink;
	st->st_size = real.st_size;
	st->st_blocks = real.st_blocks;
	st->st_atim = real.st_atim;
	st->st_mtim = real.st_mtim;
	st->st_ctim = real.st_ctim;
	return 0;
}

int fs_workspace_readdir(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel, void *buf,
			 fuse_fill_dir_t filler)
{
	int fd = resolve(reg, view, name, rel, O_RDONLY | O_DIRECTORY);
	cleanup_closedir DIR *dir = NULL;
	struct dirent *e;

	if (fd == -ENOENT && !*rel) {
		filler(buf, ".", NULL, 0, 0);
		filler(buf, "..", NULL, 0, 0);
		return 0;
	}
	if (fd < 0)
		return fd;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(dir)))
		filler(buf, e->d_name, NULL, 0, 0);
	return 0;
}

int fs_workspace_open(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel, int flags)
{
	cleanup_close int fd = -1;
	struct stat st;

	if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT)))
		return -EROFS;
	fd = resolve(reg, view, name, rel, O_PATH);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	/* Devices and fifos a guest made are not the host's to open. */
	return S_ISREG(st.st_mode) ? 0 : -EACCES;
}

int fs_workspace_read(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel, char *buf,
		      size_t size, off_t off)
{
	/* O_NONBLOCK: should the file have become a fifo since the open. */
	cleanup_close int fd = resolve(reg, view, name, rel, O_RDONLY | O_NOATIME | O_NONBLOCK);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	n = pread(fd, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

int fs_workspace_readlink(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel, char *buf,
			  size_t size)
{
	cleanup_close int fd = resolve(reg, view, name, rel, O_PATH);
	ssize_t n;

	if (fd < 0)
		return fd;
	if (size == 0)
		return -EINVAL;
	n = readlinkat(fd, "", buf, size - 1);
	if (n < 0)
		return errno == ENOENT ? -EINVAL : -errno;
	buf[n] = '\0';
	return 0;
}
