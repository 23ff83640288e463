#include "host_etc_template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy_tree.h"
#include "host_etc.h"

#define MAX_DEPTH 64
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* One process makes, links and removes copies at a time: a copy is never
 * removed between a start finding it and linking to it. Held while a copy
 * is made (rare: once per change of the host's /etc), never by the
 * registry. */
static pthread_mutex_t template_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t fnv(const void *data, size_t len, uint64_t h)
{
	const unsigned char *c = data;

	while (len--) {
		h ^= *c++;
		h *= FNV_PRIME;
	}
	return h;
}

/* Adds one hash per kept entry under the directory open at `fd`: a sum,
 * so that the order readdir gives does not count. */
static int sign_dir(int fd, const char *rel, int depth, uint64_t *sum)
{
	cleanup_closedir DIR *d = NULL;
	struct dirent *de;
	int dup_fd;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	dup_fd = dup(fd);
	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		int e = errno;

		if (dup_fd >= 0)
			close(dup_fd);
		return -e;
	}
	while ((de = readdir(d))) {
		/* What a copy takes from an entry; zeroed, so no padding counts. */
		struct {
			uint64_t mode, uid, gid, size, ino, mtime_s, mtime_ns, ctime_s, ctime_ns;
		} meta;
		char sub[PATH_MAX];
		struct stat st;
		uint64_t h;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
		    sizeof(sub))
			return -ENAMETOOLONG;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;   /* gone since readdir: not in a copy either */
			return -errno;
		}
		if (!bf_host_etc_keep(sub, &st))
			continue;
		memset(&meta, 0, sizeof(meta));
		meta.mode = st.st_mode;
		meta.uid = st.st_uid;
		meta.gid = st.st_gid;
		meta.size = (uint64_t)st.st_size;
		meta.ino = st.st_ino;
		meta.mtime_s = (uint64_t)st.st_mtim.tv_sec;
		meta.mtime_ns = (uint64_t)st.st_mtim.tv_nsec;
		meta.ctime_s = (uint64_t)st.st_ctim.tv_sec;
		meta.ctime_ns = (uint64_t)st.st_ctim.tv_nsec;
		h = fnv(sub, strlen(sub) + 1, FNV_OFFSET);
		*sum += fnv(&meta, sizeof(meta), h);
		if (S_ISDIR(st.st_mode)) {
			cleanup_close int sub_fd = openat(fd, de->d_name,
							  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int r;

			if (sub_fd < 0)
				return -errno;
			r = sign_dir(sub_fd, sub, depth + 1, sum);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int bf_host_etc_signature(const char *root, uint64_t *out)
{
	cleanup_close int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	uint64_t sum = 0;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	/* The root's own mode and times count as an entry's do. */
	sum = fnv(&st.st_mode, sizeof(st.st_mode), FNV_OFFSET) + (uint64_t)st.st_ino +
	      (uint64_t)st.st_mtim.tv_sec * 1000000007ULL + (uint64_t)st.st_mtim.tv_nsec;
	r = sign_dir(fd, "", 0, &sum);
	if (r == 0)
		*out = sum;
	return r;
}

/* An empty file NAME in the directory open at `fd` if none is there: a
 * bottle's own passwd and group are mounted over these two. */
static int ensure_file(int fd, const char *name)
{
	int f = openat(fd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (f < 0)
		return -errno;
	close(f);
	return 0;
}

static int make_copy(const char *root, const char *copies, const char *sig, struct bf_error *err)
{
	struct bf_copy_opts opts = { .keep = bf_host_etc_keep };
	char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
	cleanup_close int fd = -1;
	int r;

	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", copies, sig);
	snprintf(path, sizeof(path), "%s/%s", copies, sig);
	r = bf_remove_tree(tmp, err);   /* a crash while making one */
	if (r == 0)
		r = bf_copy_tree(root, tmp, &opts, err);
	if (r < 0)
		return r;
	fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (r = ensure_file(fd, "passwd")) < 0 || (r = ensure_file(fd, "group")) < 0) {
		r = fd < 0 ? -errno : r;
		return bf_error_set(err, -r, "copy of %s: %s", root, strerror(-r));
	}
	if (rename(tmp, path) < 0)
		return bf_error_set(err, errno, "rename %s: %s", tmp, strerror(errno));
	return 0;
}

/* Whether some bottle's link in STATE/run names copy `name`. */
static bool linked(const char *state_dir, const char *name)
{
	char run[PATH_MAX];
	cleanup_closedir DIR *d = NULL;
	struct dirent *de;

	snprintf(run, sizeof(run), "%s/run", state_dir);
	d = opendir(run);
	if (!d)
		return true;    /* unknown: kept */
	while ((de = readdir(d))) {
		char link[NAME_MAX + 16], target[PATH_MAX];
		const char *base;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/" BF_HOST_ETC_LINK, de->d_name);
		n = readlinkat(dirfd(d), link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		base = strrchr(target, '/');
		if (strcmp(base ? base + 1 : target, name) == 0)
			return true;
	}
	return false;
}

/* Removes the copies other than `keep` that no bottle links to, and
 * leftovers of copies a crash interrupted. */
static void remove_unlinked(const char *state_dir, const char *copies, const char *keep)
{
	cleanup_closedir DIR *d = opendir(copies);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX + NAME_MAX + 2];
		struct bf_error ignored = { 0 };

		if (de->d_name[0] == '.' || strcmp(de->d_name, keep) == 0)
			continue;
		if (!strstr(de->d_name, ".tmp") && linked(state_dir, de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", copies, de->d_name);
		bf_remove_tree(path, &ignored);
	}
}

static int link_locked(const char *state_dir, const char *root, const char *run_dir,
		       const char *sig, struct bf_error *err)
{
	char copies[PATH_MAX], path[PATH_MAX + 32], target[64], link[PATH_MAX + 32], tmp[PATH_MAX + 32];
	struct stat st;
	int r;

	snprintf(copies, sizeof(copies), "%s/host-etc", state_dir);
	/* Searchable: the runtime mounts it as the guest's mapped root. */
	if ((mkdir(copies, 0711) < 0 && errno != EEXIST) || chmod(copies, 0711) < 0)
		return bf_error_set(err, errno, "mkdir %s: %s", copies, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", copies, sig);
	if (lstat(path, &st) < 0) {
		r = make_copy(root, copies, sig, err);
		if (r < 0)
			return r;
		remove_unlinked(state_dir, copies, sig);
	}
	snprintf(target, sizeof(target), "../../host-etc/%s", sig);
	snprintf(link, sizeof(link), "%s/" BF_HOST_ETC_LINK, run_dir);
	snprintf(tmp, sizeof(tmp), "%s/" BF_HOST_ETC_LINK ".tmp", run_dir);
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, link) < 0) {
		r = bf_error_set(err, errno, "link %s: %s", link, strerror(errno));
		unlink(tmp);
		return r;
	}
	return 0;
}

int bf_host_etc_link(const char *state_dir, const char *root, const char *run_dir,
		     struct bf_error *err)
{
	char sig[17];
	uint64_t hash;
	int r = bf_host_etc_signature(root, &hash);

	if (r < 0)
		return bf_error_set(err, -r, "reading %s: %s", root, strerror(-r));
	snprintf(sig, sizeof(sig), "%016llx", (unsigned long long)hash);
	pthread_mutex_lock(&template_lock);
	r = link_locked(state_dir, root, run_dir, sig, err);
	pthread_mutex_unlock(&template_lock);
	return r;
}
