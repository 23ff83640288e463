#include "vm_cpio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cleanup.h"

static int put(struct bf_cpio *c, const void *data, size_t len, struct bf_error *err)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(c->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return bf_error_set(err, n < 0 ? errno : EIO, "initramfs: write: %s",
					    strerror(n < 0 ? errno : EIO));
		p += n;
		len -= (size_t)n;
		c->off += n;
	}
	return 0;
}

static int pad4(struct bf_cpio *c, struct bf_error *err)
{
	static const char zeros[4];
	size_t n = (size_t)((4 - (c->off & 3)) & 3);

	return n ? put(c, zeros, n, err) : 0;
}

static int header(struct bf_cpio *c, const char *name, mode_t mode, uid_t uid, gid_t gid,
		  unsigned long size, struct bf_error *err)
{
	char head[111];
	size_t nlen = strlen(name) + 1;
	int r;

	if (nlen > PATH_MAX)
		return bf_error_set(err, ENAMETOOLONG, "initramfs: name too long: %s", name);
	snprintf(head, sizeof(head),
		 "070701%08lX%08X%08X%08X%08X%08X%08lX%08X%08X%08X%08X%08zX%08X",
		 ++c->ino, (unsigned)mode, (unsigned)uid, (unsigned)gid, S_ISDIR(mode) ? 2u : 1u, 0u,
		 size, 0u, 0u, 0u, 0u, nlen, 0u);
	r = put(c, head, 110, err);
	if (r == 0)
		r = put(c, name, nlen, err);
	return r ? r : pad4(c, err);
}

void bf_cpio_init(struct bf_cpio *c, int fd)
{
	c->fd = fd;
	c->ino = 0;
	c->off = 0;
}

int bf_cpio_dir(struct bf_cpio *c, const char *name, mode_t mode, uid_t uid, gid_t gid,
		struct bf_error *err)
{
	return header(c, name, S_IFDIR | (mode & 07777), uid, gid, 0, err);
}

int bf_cpio_data(struct bf_cpio *c, const char *name, mode_t mode, uid_t uid, gid_t gid,
		 const void *data, size_t len, struct bf_error *err)
{
	int r = header(c, name, S_IFREG | (mode & 07777), uid, gid, len, err);

	if (r == 0)
		r = put(c, data, len, err);
	return r ? r : pad4(c, err);
}

int bf_cpio_file(struct bf_cpio *c, const char *name, mode_t mode, uid_t uid, gid_t gid, int src_fd,
		 off_t len, struct bf_error *err)
{
	char buf[65536];
	off_t left = len;
	int r;

	if (len < 0 || len > 0xffffffffLL)
		return bf_error_set(err, EFBIG, "initramfs: %s is too large for cpio", name);
	r = header(c, name, S_IFREG | (mode & 07777), uid, gid, (unsigned long)len, err);
	while (r == 0 && left > 0) {
		ssize_t n = read(src_fd, buf, (size_t)left < sizeof(buf) ? (size_t)left : sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return bf_error_set(err, n < 0 ? errno : EIO, "initramfs: %s changed while read", name);
		r = put(c, buf, (size_t)n, err);
		left -= n;
	}
	return r ? r : pad4(c, err);
}

int bf_cpio_symlink(struct bf_cpio *c, const char *name, const char *target, uid_t uid, gid_t gid,
		    struct bf_error *err)
{
	size_t len = strlen(target);
	int r = header(c, name, S_IFLNK | 0777, uid, gid, len, err);

	if (r == 0)
		r = put(c, target, len, err);
	return r ? r : pad4(c, err);
}

static int tree_at(struct bf_cpio *c, const char *name, int at_fd, bool top,
		   bool (*skip)(const char *), struct bf_error *err)
{
	cleanup_close int fd = openat(at_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (fd < 0)
		return bf_error_set(err, errno, "initramfs: %s: %s", name, strerror(errno));
	d = fdopendir(fd);
	if (!d)
		return bf_error_set(err, errno, "initramfs: %s: %s", name, strerror(errno));
	fd = -1;        /* the DIR owns it */
	while (r == 0 && (e = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (top && skip && skip(e->d_name))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = bf_error_set(err, errno, "initramfs: %s/%s: %s", name, e->d_name, strerror(errno));
			break;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", name, *name ? "/" : "", e->d_name) >=
		    sizeof(path)) {
			r = bf_error_set(err, ENAMETOOLONG, "initramfs: path too long under %s", name);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0) {
				r = bf_error_set(err, errno, "initramfs: %s: %s", path, strerror(errno));
				break;
			}
			r = bf_cpio_dir(c, path, st.st_mode, st.st_uid, st.st_gid, err);
			if (r == 0)
				r = tree_at(c, path, sub, false, skip, err);
			close(sub);
		} else if (S_ISREG(st.st_mode)) {
			int f = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

			if (f < 0) {
				r = bf_error_set(err, errno, "initramfs: %s: %s", path, strerror(errno));
				break;
			}
			r = bf_cpio_file(c, path, st.st_mode, st.st_uid, st.st_gid, f, st.st_size, err);
			close(f);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);

			if (n < 0) {
				r = bf_error_set(err, errno, "initramfs: %s: %s", path, strerror(errno));
				break;
			}
			target[n] = '\0';
			r = bf_cpio_symlink(c, path, target, st.st_uid, st.st_gid, err);
		}
	}
	closedir(d);
	return r;
}

int bf_cpio_tree(struct bf_cpio *c, const char *name, const char *dir,
		 bool (*skip)(const char *top_name), struct bf_error *err)
{
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return bf_error_set(err, errno, "initramfs: %s: %s", dir, strerror(errno));
	return tree_at(c, name, fd, true, skip, err);
}

int bf_cpio_finish(struct bf_cpio *c, struct bf_error *err)
{
	int r = header(c, "TRAILER!!!", 0, 0, 0, 0, err);
	static const char zeros[512];

	/* Whole 512-byte blocks, as cpio(1) writes them. */
	if (r == 0 && c->off % 512)
		r = put(c, zeros, (size_t)(512 - c->off % 512), err);
	return r;
}
