#include "copy_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <bsd/stdlib.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "cleanup.h"

#define MAX_DEPTH 64

/* With read_as, the copy runs on a thread of its own whose filesystem ids
 * switch between the reader's (every access to the source) and root's
 * (the copy): per-thread raw syscalls, so no other thread is affected. */
static __thread const struct bf_caller *reader;

static void as_reader(void)
{
	if (reader) {
		syscall(SYS_setfsgid, reader->gid);
		syscall(SYS_setfsuid, reader->uid);
	}
}

static void as_root(void)
{
	if (reader) {
		syscall(SYS_setfsuid, 0);
		syscall(SYS_setfsgid, 0);
	}
}

static int open_source(int dirfd, const char *name, int flags)
{
	int fd, e;

	as_reader();
	fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW);
	e = errno;
	as_root();
	errno = e;
	return fd;
}

static int stat_source(int dirfd, const char *name, struct stat *st)
{
	int r, e;

	as_reader();
	r = fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW);
	e = errno;
	as_root();
	errno = e;
	return r;
}

static int copy_file(int sfd, int dfd, const char *name, const struct stat *st)
{
	cleanup_close int in = open_source(sfd, name, O_RDONLY);
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

int bf_copy_file_at(int src_dir, int dst_dir, const char *name)
{
	struct stat st;

	if (stat_source(src_dir, name, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return copy_file(src_dir, dst_dir, name, &st);
}

static int copy_dir(int sfd, int dfd, const char *rel, int depth,
		    const struct bf_copy_opts *opts, struct bf_error *err);

static int copy_entry(int sfd, int dfd, const char *name, const char *rel, int depth,
		      const struct bf_copy_opts *opts, struct bf_error *err)
{
	struct stat st;
	int r = 0;

	if (stat_source(sfd, name, &st) < 0)
		return errno == ENOENT ? 0 : bf_error_set(err, errno, "copy: %s: %s", rel, strerror(errno));
	if (opts->keep && !opts->keep(rel, &st))
		return 0;
	if (S_ISDIR(st.st_mode)) {
		cleanup_close int sub_s = -1;
		cleanup_close int sub_d = -1;

		sub_s = open_source(sfd, name, O_RDONLY | O_DIRECTORY);
		if (sub_s < 0 && reader && errno == EACCES)
			return 0;   /* not the reader's to see: not copied */
		if (sub_s < 0)
			return bf_error_set(err, errno, "copy: open %s: %s", rel, strerror(errno));
		if (mkdirat(dfd, name, 0700) < 0)
			return bf_error_set(err, errno, "copy: mkdir %s: %s", rel, strerror(errno));
		sub_d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub_d < 0)
			return bf_error_set(err, errno, "copy: open %s: %s", rel, strerror(errno));
		r = copy_dir(sub_s, sub_d, rel, depth + 1, opts, err);
		if (r == 0 && fchmod(sub_d, st.st_mode & 07777) < 0)
			r = bf_error_set(err, errno, "copy: chmod %s: %s", rel, strerror(errno));
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n;

		as_reader();
		n = readlinkat(sfd, name, target, sizeof(target) - 1);
		as_root();
		if (n < 0)
			return bf_error_set(err, errno, "copy: readlink %s: %s", rel, strerror(errno));
		target[n] = '\0';
		if (symlinkat(target, dfd, name) < 0)
			return bf_error_set(err, errno, "copy: symlink %s: %s", rel, strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		r = copy_file(sfd, dfd, name, &st);
		if (r == -EACCES && reader)
			return 0;   /* not the reader's to see: not copied */
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

static int copy_tree(const char *src, const char *dst, const struct bf_copy_opts *opts,
		     struct bf_error *err)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };
	cleanup_close int sfd = -1;
	cleanup_close int dfd = -1;
	struct stat st;
	int r, e;

	/* As the reader, with no symlink on the way: the directory the
	 * reader can reach at this path now, not one swapped in by a link. */
	as_reader();
	sfd = opts->read_as || opts->no_symlinks ? (int)syscall(SYS_openat2, AT_FDCWD, src, &how, sizeof(how))
			    : open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	e = errno;
	as_root();
	if (sfd < 0)
		return bf_error_set(err, e, "copy: %s: %s%s", src, strerror(e),
				    e == ELOOP ? " (a copied workspace's path may hold no symlink)" : "");
	if (fstat(sfd, &st) < 0)
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

struct copy_job {
	const char *src, *dst;
	const struct bf_copy_opts *opts;
	struct bf_error *err;
	int result;
};

static void *copy_as_reader(void *arg)
{
	struct copy_job *j = arg;
	const struct bf_caller *who = j->opts->read_as;

	/* Supplementary groups count for reading; this thread only. */
	if (syscall(SYS_setgroups, who->n_groups, who->groups) < 0) {
		j->result = bf_error_set(j->err, errno, "copy: setgroups: %s", strerror(errno));
		return NULL;
	}
	reader = who;
	j->result = copy_tree(j->src, j->dst, j->opts, j->err);
	reader = NULL;
	return NULL;
}

int bf_copy_tree(const char *src, const char *dst, const struct bf_copy_opts *opts,
		 struct bf_error *err)
{
	struct copy_job j = { src, dst, opts, err, -EIO };
	pthread_t t;
	int r;

	if (!opts->read_as)
		return copy_tree(src, dst, opts, err);
	r = pthread_create(&t, NULL, copy_as_reader, &j);
	if (r != 0)
		return bf_error_set(err, r, "copy: cannot start a thread: %s", strerror(r));
	pthread_join(t, NULL);
	return j.result;
}

/* Empties the directory open at `fd` of everything but subdirectories;
 * returns 1 and the name of one subdirectory in *sub, 0 when it is
 * empty, or -errno. */
static bool is_mount_root(int dirfd, const char *name)
{
	struct statx stx;

	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, 0, &stx) < 0)
		return true;    /* unknown: treated as one, nothing is removed */
	return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int clear_files(int fd, dev_t dev, char **sub)
{
	cleanup_closedir DIR *d = NULL;
	struct dirent *de;
	int dup_fd = dup(fd);

	*sub = NULL;
	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if (S_ISDIR(st.st_mode)) {
			/* A mount point: never remove across it, even a bind of
			 * the same file system (an idmapped workspace), which
			 * only the mount-root attribute tells apart. */
			if (st.st_dev != dev || is_mount_root(fd, de->d_name))
				return -EBUSY;
			*sub = strdup(de->d_name);
			return *sub ? 1 : -ENOMEM;
		}
		if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/* Depth-first without recursion: one directory fd open at a time, the
 * way back up through "..", the names on a heap stack. So no depth limit,
 * no PATH_MAX, no ELOOP, whatever tree a guest left. */
static int remove_dir_tree(const char *path, dev_t dev)
{
	char **names = NULL;
	size_t depth = 0, cap = 0;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW), r = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		char *sub = NULL;
		int up;

		r = clear_files(fd, dev, &sub);
		if (r < 0)
			break;
		if (r == 1) {
			int child = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

			if (child >= 0 && depth == cap) {
				char **more = reallocarray(names, cap * 2 + 16, sizeof(*names));

				if (more) {
					names = more;
					cap = cap * 2 + 16;
				}
			}
			if (child < 0 || depth == cap) {
				r = child < 0 ? -errno : -ENOMEM;
				if (child >= 0)
					close(child);
				free(sub);
				break;
			}
			names[depth++] = sub;
			close(fd);
			fd = child;
			continue;
		}
		if (depth == 0)
			break;
		up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (up < 0) {
			r = -errno;
			break;
		}
		close(fd);
		fd = up;
		depth--;
		if (unlinkat(fd, names[depth], AT_REMOVEDIR) < 0 && errno != ENOENT)
			r = -errno;
		free(names[depth]);
		if (r < 0)
			break;
	}
	close(fd);
	while (depth)
		free(names[--depth]);
	free(names);
	if (r < 0)
		return r;
	return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
}

int bf_remove_tree(const char *path, struct bf_error *err)
{
	struct stat st;
	int r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : bf_error_set(err, errno, "remove %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		r = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	else
		r = remove_dir_tree(path, st.st_dev);
	if (r < 0)
		return bf_error_set(err, -r, "remove %s: %s", path, strerror(-r));
	return 0;
}
