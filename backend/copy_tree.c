#include "copy_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "cleanup.h"

#define MAX_DEPTH 64

static int copy_file(int sfd, int dfd, const char *name, const struct stat *st)
{
	cleanup_close int in = openat(sfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	cleanup_close int out = -1;
	off_t left = st->st_size;

	if (in < 0)
		return -errno;
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0)
		return -errno;
	while (left > 0) {
		ssize_t n = sendfile(out, in, NULL, (size_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;      /* the file shrank while copying */
		left -= n;
	}
	return fchmod(out, st->st_mode & 07777) < 0 ? -errno : 0;
}

static int copy_dir(int sfd, int dfd, const char *rel, int depth,
		    const struct bf_copy_opts *opts, struct bf_error *err);

static int copy_entry(int sfd, int dfd, const char *name, const char *rel, int depth,
		      const struct bf_copy_opts *opts, struct bf_error *err)
{
	struct stat st;
	int r = 0;

	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : bf_error_set(err, errno, "copy: %s: %s", rel, strerror(errno));
	if (opts->keep && !opts->keep(rel, &st))
		return 0;
	if (S_ISDIR(st.st_mode)) {
		cleanup_close int sub_s = -1;
		cleanup_close int sub_d = -1;

		if (mkdirat(dfd, name, 0700) < 0)
			return bf_error_set(err, errno, "copy: mkdir %s: %s", rel, strerror(errno));
		sub_s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		sub_d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub_s < 0 || sub_d < 0)
			return bf_error_set(err, errno, "copy: open %s: %s", rel, strerror(errno));
		r = copy_dir(sub_s, sub_d, rel, depth + 1, opts, err);
		if (r == 0 && fchmod(sub_d, st.st_mode & 07777) < 0)
			r = bf_error_set(err, errno, "copy: chmod %s: %s", rel, strerror(errno));
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);

		if (n < 0)
			return bf_error_set(err, errno, "copy: readlink %s: %s", rel, strerror(errno));
		target[n] = '\0';
		if (symlinkat(target, dfd, name) < 0)
			return bf_error_set(err, errno, "copy: symlink %s: %s", rel, strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		r = copy_file(sfd, dfd, name, &st);
		if (r < 0)
			return bf_error_set(err, -r, "copy: %s: %s", rel, strerror(-r));
	} else {
		return 0;   /* sockets, fifos, devices: nothing a guest needs */
	}
	if (r == 0 && opts->chown_to &&
	    fchownat(dfd, name, opts->uid, opts->gid, AT_SYMLINK_NOFOLLOW) < 0)
		r = bf_error_set(err, errno, "copy: chown %s: %s", rel, strerror(errno));
	return r;
}

static int copy_dir(int sfd, int dfd, const char *rel, int depth,
		    const struct bf_copy_opts *opts, struct bf_error *err)
{
	cleanup_closedir DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (depth > MAX_DEPTH)
		return bf_error_set(err, ELOOP, "copy: %s: nested too deeply", rel);
	fd = dup(sfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return bf_error_set(err, errno, "copy: %s: %s", rel, strerror(errno));
	}
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		int r;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		r = copy_entry(sfd, dfd, de->d_name, sub, depth, opts, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int bf_copy_tree(const char *src, const char *dst, const struct bf_copy_opts *opts,
		 struct bf_error *err)
{
	cleanup_close int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int dfd = -1;
	struct stat st;
	int r;

	if (sfd < 0 || fstat(sfd, &st) < 0)
		return bf_error_set(err, errno, "copy: %s: %s", src, strerror(errno));
	if (mkdir(dst, 0700) < 0)
		return bf_error_set(err, errno, "copy: mkdir %s: %s", dst, strerror(errno));
	dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return bf_error_set(err, errno, "copy: %s: %s", dst, strerror(errno));
	r = copy_dir(sfd, dfd, "", 0, opts, err);
	if (r == 0 && fchmod(dfd, st.st_mode & 07777) < 0)
		r = bf_error_set(err, errno, "copy: chmod %s: %s", dst, strerror(errno));
	if (r == 0 && opts->chown_to && fchown(dfd, opts->uid, opts->gid) < 0)
		r = bf_error_set(err, errno, "copy: chown %s: %s", dst, strerror(errno));
	return r;
}

static int remove_at(int dfd, const char *name, dev_t dev, int depth)
{
	struct stat st;
	cleanup_closedir DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev)
		return -EBUSY;      /* a mount point: never remove across it */
	if (depth > MAX_DEPTH)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		int r;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = remove_at(dirfd(d), de->d_name, dev, depth + 1);
		if (r < 0)
			return r;
	}
	return unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

int bf_remove_tree(const char *path, struct bf_error *err)
{
	struct stat st;
	int r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : bf_error_set(err, errno, "remove %s: %s", path, strerror(errno));
	r = remove_at(AT_FDCWD, path, st.st_dev, 0);
	if (r < 0)
		return bf_error_set(err, -r, "remove %s: %s", path, strerror(-r));
	return 0;
}
