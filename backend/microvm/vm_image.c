#include "vm_image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sha2.h>
#include <bsd/string.h>

#include "../access_as.h"
#include "../cleanup.h"
#include "vm_cpio.h"
#include "vm_docker_image.h"
#include "vm_tar_cpio.h"

/* The job runs on a thread of its own whose filesystem ids are the
 * reader's for every read and root's only to write the cache (per-thread
 * raw syscalls: no other thread is affected). */
static __thread bool switched;

static void as_root(void)
{
	if (switched) {
		syscall(SYS_setfsuid, 0);
		syscall(SYS_setfsgid, 0);
	}
}

static void as_reader(const struct bf_caller *who)
{
	if (switched) {
		syscall(SYS_setfsgid, who->gid);
		syscall(SYS_setfsuid, who->uid);
	}
}

/* Names of the image the VM has of its own: the agent is /init, and the
 * kernel's filesystems are mounted over these. */
static bool not_from_image(const char *name)
{
	return !strcmp(name, "init") || !strcmp(name, "bottlefs") || !strcmp(name, "proc") ||
	       !strcmp(name, "sys") || !strcmp(name, "dev");
}

static void digest_stat(SHA2_CTX *h, const char *path, const struct stat *st, const char *link)
{
	char line[PATH_MAX + 256];
	int n = snprintf(line, sizeof(line), "%s\n%o %u %u %lld %lld.%09ld %lld.%09ld %s\n", path,
			 (unsigned)st->st_mode, (unsigned)st->st_uid, (unsigned)st->st_gid,
			 (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
			 (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec, link ? link : "");

	if (n > 0)
		SHA256Update(h, (const uint8_t *)line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
}

static int digest_tree(SHA2_CTX *h, int at, const char *rel, bool top, struct bf_error *err)
{
	DIR *d;
	struct dirent *e;
	int fd = openat(at, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return bf_error_set(err, errno, "image %s: %s", rel, strerror(errno));
	}
	while (r == 0 && (e = readdir(d))) {
		char path[PATH_MAX], link[PATH_MAX];
		struct stat st;
		ssize_t n = -1;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || (top && not_from_image(e->d_name)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", rel, e->d_name);
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = bf_error_set(err, errno, "image %s: %s", path, strerror(errno));
			break;
		}
		if (S_ISLNK(st.st_mode) && (n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1)) >= 0)
			link[n] = '\0';
		digest_stat(h, path, &st, n >= 0 ? link : NULL);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0) {
				r = bf_error_set(err, errno, "image %s: %s", path, strerror(errno));
				break;
			}
			r = digest_tree(h, sub, path, false, err);
			close(sub);
		}
	}
	closedir(d);
	return r;
}

static int digest_file(SHA2_CTX *h, const char *path, struct bf_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return bf_error_set(err, errno, "%s: %s", path, strerror(errno));
	digest_stat(h, path, &st, NULL);
	return 0;
}

/* The module names of the bundle, in load order (one a line). */
static int read_modules(const char *kernel_dir, char names[][64], size_t max, size_t *count,
			struct bf_error *err)
{
	char path[PATH_MAX], line[128];
	FILE *f;

	*count = 0;
	snprintf(path, sizeof(path), "%s/modules.load", kernel_dir);
	f = fopen(path, "re");
	if (!f)
		return bf_error_set(err, errno, "%s: %s (run scripts/vm-kernel.sh)", path, strerror(errno));
	while (fgets(line, sizeof(line), f) && *count < max) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || strchr(line, '/') || strlen(line) >= 64)
			continue;
		strcpy(names[(*count)++], line);
	}
	fclose(f);
	return 0;
}

static int add_file(struct bf_cpio *c, const char *name, const char *src, mode_t mode,
		    struct bf_error *err)
{
	cleanup_close int fd = open(src, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return bf_error_set(err, errno, "%s: %s", src, strerror(errno));
	return bf_cpio_file(c, name, mode, 0, 0, fd, st.st_size, err);
}

/* The cache's own file, made as root; -1 with err set. */
static int open_cache_tmp(const char *path, char *tmp, size_t len, const struct bf_caller *who,
			  struct bf_error *err)
{
	int fd, e;

	snprintf(tmp, len, "%s.%d.%ld.tmp", path, (int)getpid(), (long)syscall(SYS_gettid));
	as_root();
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	e = errno;
	as_reader(who);
	if (fd < 0)
		bf_error_set(err, e, "%s: %s", tmp, strerror(e));
	return fd;
}

static int commit_cache(int fd, const char *tmp, const char *path, const struct bf_caller *who,
			int r, struct bf_error *err)
{
	as_root();
	if (r == 0 && (fsync(fd) < 0 || rename(tmp, path) < 0))
		r = bf_error_set(err, errno, "%s: %s", path, strerror(errno));
	if (r < 0)
		unlink(tmp);
	as_reader(who);
	return r;
}

/* DIGEST.vmlinuz: the kernel, read as the reader. */
static int write_kernel(const char *path, const char *kernel_dir, const struct bf_caller *who,
			struct bf_error *err)
{
	char tmp[PATH_MAX + 48], src[PATH_MAX];
	cleanup_close int fd = -1, in = -1;
	int r = 0;

	snprintf(src, sizeof(src), "%s/vmlinuz", kernel_dir);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return bf_error_set(err, errno, "%s: %s", src, strerror(errno));
	fd = open_cache_tmp(path, tmp, sizeof(tmp), who, err);
	if (fd < 0)
		return -err->code;
	for (;;) {
		char buf[65536];
		ssize_t n = read(in, buf, sizeof(buf));

		if (n == 0)
			break;
		if (n < 0 || write(fd, buf, (size_t)n) != n) {
			r = bf_error_set(err, errno ? errno : EIO, "%s: %s", src, strerror(errno ? errno : EIO));
			break;
		}
	}
	return commit_cache(fd, tmp, path, who, r, err);
}

/* The host image: the host's /usr (shared read-only by virtiofs, see
 * vm_shim.c) under its top-level links (bin -> usr/bin...). Its /etc is
 * the bottle's own (bf_vm_image_bottle). */
static const char *const host_links[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32", NULL };

static int host_tree(struct bf_cpio *c, struct bf_error *err)
{
	int r = bf_cpio_dir(c, "usr", 0755, 0, 0, err);

	for (size_t i = 0; r == 0 && host_links[i]; i++) {
		char path[64], target[256];
		ssize_t n;

		snprintf(path, sizeof(path), "/%s", host_links[i]);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;       /* absent; a directory is refused by the backend */
		target[n] = '\0';
		r = bf_cpio_symlink(c, host_links[i], target, 0, 0, err);
	}
	return r;
}

/* Whether the host keeps its system directories in /usr alone (what the
 * host image shares); -ENOTSUP names one that is a directory of its own. */
int bf_vm_host_usr_merged(struct bf_error *err)
{
	for (size_t i = 0; host_links[i]; i++) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/%s", host_links[i]);
		if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode))
			return bf_error_set(err, ENOTSUP, "the host image of a microvm bottle shares /usr alone, and this host's %s is a directory of its own (not merged into /usr)",
					    path);
	}
	return 0;
}

/* DIGEST.etc/: the image's passwd and group, which the bottle's own are
 * made from (a directory image has them in place). */
static void etc_dir_of(const char *cache_path, char *out, size_t len)
{
	size_t n = strlen(cache_path);

	if (n > 5 && !strcmp(cache_path + n - 5, ".cpio"))
		n -= 5;
	snprintf(out, len, "%.*s.etc", (int)n, cache_path);
}

static int save_etc(const char *cache_path, const struct bf_tar_keep *keep, struct bf_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];

	etc_dir_of(cache_path, dir, sizeof(dir));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return bf_error_set(err, errno, "%s: %s", dir, strerror(errno));
	for (size_t i = 0; i < 2; i++) {
		cleanup_close int fd = -1;

		if (!keep->data[i])
			continue;
		char tmp[PATH_MAX + 48];

		/* Whole or not at all: another start may be reading it. */
		snprintf(path, sizeof(path), "%s/%s", dir, keep->names[i] + 4);
		snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)syscall(SYS_gettid));
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, keep->data[i], keep->len[i]) != (ssize_t)keep->len[i] ||
		    rename(tmp, path) < 0) {
			int e = errno;

			unlink(tmp);
			return bf_error_set(err, e, "%s: %s", path, strerror(e));
		}
	}
	return 0;
}

/* etc/passwd and etc/group beneath the image's root (no link out of it),
 * regular files of at most 1 MiB (a fifo does not hang the start);
 * absent ones stay NULL. */
static int read_image_etc(int root, struct bf_tar_keep *keep, struct bf_error *err)
{
	for (size_t i = 0; i < 2; i++) {
		struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
					.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
		cleanup_close int fd = (int)syscall(SYS_openat2, root, keep->names[i], &how, sizeof(how));
		struct stat st;
		char *buf;

		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20))
			return bf_error_set(err, EINVAL, "image: %s is not a regular file of at most 1 MiB",
					    keep->names[i]);
		buf = malloc((size_t)st.st_size + 1);
		if (!buf)
			return bf_error_set(err, ENOMEM, "out of memory");
		if (read(fd, buf, (size_t)st.st_size) != (ssize_t)st.st_size) {
			free(buf);
			return bf_error_set(err, EIO, "image: %s changed while read", keep->names[i]);
		}
		buf[st.st_size] = '\0';
		keep->data[i] = buf;
		keep->len[i] = (size_t)st.st_size;
	}
	return 0;
}

/* A docker image's tree: exported by the engine (as root: its socket is
 * root's) into an unnamed file beside the cache, read member by member. */
static int docker_tree(struct bf_cpio *c, const char *ref, const char *cache_path,
		       const struct bf_caller *who, struct bf_error *err)
{
	struct bf_tar_keep keep = { { "etc/passwd", "etc/group" }, { NULL, NULL }, { 0, 0 } };
	char dir[PATH_MAX], *slash;
	cleanup_close int tar = -1;
	int r;

	strlcpy(dir, cache_path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	as_root();
	tar = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tar < 0)
		r = bf_error_set(err, errno, "%s: %s", dir, strerror(errno));
	else
		r = bf_vm_docker_export(ref, tar, err);
	if (r == 0)
		r = bf_vm_tar_to_cpio(tar, c, not_from_image, &keep, err);
	if (r == 0)
		r = save_etc(cache_path, &keep, err);
	for (size_t i = 0; i < 2; i++)
		free(keep.data[i]);
	as_reader(who);
	return r;
}

static int write_base(const char *path, const char *rootfs, const char *agent,
		      const char *kernel_dir, char mods[][64], size_t n_mods,
		      const struct bf_caller *who, struct bf_error *err)
{
	char tmp[PATH_MAX + 48], src[PATH_MAX], list[64 * 72] = "";
	cleanup_close int fd = -1;
	struct bf_cpio c;
	size_t i;
	int r;

	fd = open_cache_tmp(path, tmp, sizeof(tmp), who, err);
	if (fd < 0)
		return -err->code;
	bf_cpio_init(&c, fd);
	if (rootfs[0] == '/')
		r = bf_cpio_tree(&c, "", rootfs, not_from_image, err);
	else if (!strcmp(rootfs, "host"))
		r = host_tree(&c, err);
	else
		r = docker_tree(&c, rootfs, path, who, err);
	if (r == 0)
		r = add_file(&c, "init", agent, 0755, err);
	if (r == 0)
		r = bf_cpio_dir(&c, "bottlefs", 0700, 0, 0, err);
	if (r == 0)
		r = bf_cpio_dir(&c, "bottlefs/mod", 0700, 0, 0, err);
	for (i = 0; r == 0 && i < n_mods; i++) {
		char name[128];

		snprintf(src, sizeof(src), "%s/modules/%s", kernel_dir, mods[i]);
		snprintf(name, sizeof(name), "bottlefs/mod/%s", mods[i]);
		r = add_file(&c, name, src, 0600, err);
		strlcat(list, "/", sizeof(list));
		strlcat(list, name, sizeof(list));
		strlcat(list, "\n", sizeof(list));
	}
	if (r == 0)
		r = bf_cpio_data(&c, "bottlefs/modules", 0600, 0, 0, list, strlen(list), err);
	if (r == 0)
		r = bf_cpio_finish(&c, err);
	return commit_cache(fd, tmp, path, who, r, err);
}

void bf_vm_kernel_release(const char *kernel_dir, char *out)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/version", kernel_dir);
	out[0] = '\0';
	f = fopen(path, "re");
	if (f) {
		if (fgets(out, BF_VM_RELEASE_MAX, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
	}
}

struct image_job {
	const char *state_dir, *rootfs, *agent, *kernel_dir;
	const struct bf_caller *reader;
	char *initrd, *kernel, *release, *etc;
	struct bf_error *err;
	int result;
};

static int make_base(struct image_job *j)
{
	char mods[32][64], hex[SHA256_DIGEST_STRING_LENGTH], dir[PATH_MAX], src[PATH_MAX];
	char who[64];
	const char *rootfs = j->rootfs, *kernel_dir = j->kernel_dir;
	struct bf_error *err = j->err;
	char image_id[160] = "";
	bool host = !strcmp(rootfs, "host"), docker = rootfs[0] != '/' && !host;
	cleanup_close int root = docker || host ? -1 : open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n_mods = 0, i;
	SHA2_CTX h;
	int r, e;

	/* Not a path: a local docker image, known by the engine's content id. */
	if (docker) {
		as_root();
		r = bf_vm_docker_image_id(rootfs, image_id, sizeof(image_id), err);
		as_reader(j->reader);
		if (r < 0)
			return r;
	} else if (!host && root < 0)
		return bf_error_set(err, errno, "image %s: %s (a microvm image is a root filesystem directory)",
				    rootfs, strerror(errno));
	r = read_modules(kernel_dir, mods, 32, &n_mods, err);
	if (r < 0)
		return r;
	/* fuse and virtiofs serve the host image's /usr alone: another VM
	 * does not spend its boot loading them. */
	for (i = 0; !host && i < n_mods;) {
		if (!strcmp(mods[i], "fuse.ko") || !strcmp(mods[i], "virtiofs.ko")) {
			memmove(mods[i], mods[i + 1], (n_mods - i - 1) * sizeof(mods[0]));
			n_mods--;
		} else {
			i++;
		}
	}
	bf_vm_kernel_release(kernel_dir, j->release);
	SHA256Init(&h);
	SHA256Update(&h, (const uint8_t *)"bottlefs-vm-image 3\n", 20);
	snprintf(who, sizeof(who), "reader %u\n", (unsigned)j->reader->uid);
	SHA256Update(&h, (const uint8_t *)who, strlen(who));
	r = digest_file(&h, j->agent, err);
	if (r == 0) {
		snprintf(src, sizeof(src), "%s/vmlinuz", kernel_dir);
		r = digest_file(&h, src, err);
	}
	for (i = 0; r == 0 && i < n_mods; i++) {
		snprintf(src, sizeof(src), "%s/modules/%s", kernel_dir, mods[i]);
		r = digest_file(&h, src, err);
	}
	if (r == 0 && docker) {
		SHA256Update(&h, (const uint8_t *)"docker ", 7);
		SHA256Update(&h, (const uint8_t *)image_id, strlen(image_id));
	} else if (r == 0 && host) {
		SHA256Update(&h, (const uint8_t *)"host\n", 5);
		for (i = 0; host_links[i]; i++) {
			char path[64], target[256] = "";
			ssize_t n;

			snprintf(path, sizeof(path), "/%s", host_links[i]);
			n = readlink(path, target, sizeof(target) - 1);
			if (n >= 0)
				target[n] = '\0';
			SHA256Update(&h, (const uint8_t *)path, strlen(path) + 1);
			SHA256Update(&h, (const uint8_t *)target, strlen(target) + 1);
		}
	} else if (r == 0) {
		r = digest_tree(&h, root, "", true, err);
	}
	if (r < 0)
		return r;
	SHA256End(&h, hex);
	snprintf(dir, sizeof(dir), "%s/vm-cache", j->state_dir);
	as_root();
	r = mkdir(dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
	as_reader(j->reader);
	if (r < 0)
		return bf_error_set(err, -r, "%s: %s", dir, strerror(-r));
	if (snprintf(j->initrd, PATH_MAX, "%s/%s.cpio", dir, hex) >= PATH_MAX ||
	    snprintf(j->kernel, PATH_MAX, "%s/%s.vmlinuz", dir, hex) >= PATH_MAX)
		return bf_error_set(err, ENAMETOOLONG, "state dir path too long");
	if (!host)
		etc_dir_of(j->initrd, j->etc, PATH_MAX);
	else
		snprintf(j->etc, PATH_MAX, "/etc");    /* the bottle's copy is made from it */

	as_root();
	r = access(j->kernel, R_OK) == 0 ? 1 : 0;
	e = access(j->initrd, R_OK) == 0 ? 1 : 0;
	as_reader(j->reader);
	if (!r && (r = write_kernel(j->kernel, kernel_dir, j->reader, err)) < 0)
		return r;
	if (e)
		return 0;
	/* A directory image's passwd and group, read as the reader beneath
	 * its root, go to DIGEST.etc/ beside the archive: the bottle's own
	 * are made from them, never from a path of the image's. */
	if (!docker && !host) {
		struct bf_tar_keep keep = { { "etc/passwd", "etc/group" }, { NULL, NULL }, { 0, 0 } };

		r = read_image_etc(root, &keep, err);
		if (r == 0) {
			as_root();
			r = save_etc(j->initrd, &keep, err);
			as_reader(j->reader);
		}
		for (i = 0; i < 2; i++)
			free(keep.data[i]);
		if (r < 0)
			return r;
	}
	/* A docker image is exported by the id the key holds (a tag may
	 * have moved since). */
	return write_base(j->initrd, docker ? image_id : rootfs, j->agent, kernel_dir, mods, n_mods,
			  j->reader, err);
}

static void *image_as_reader(void *arg)
{
	struct image_job *j = arg;
	const struct bf_caller *who = j->reader;

	/* Supplementary groups count for reading; this thread only. */
	if (syscall(SYS_setgroups, who->n_groups, who->groups) < 0) {
		j->result = bf_error_set(j->err, errno, "image: setgroups: %s", strerror(errno));
		return NULL;
	}
	switched = true;
	as_reader(who);
	j->result = make_base(j);
	as_root();
	switched = false;
	return NULL;
}

int bf_vm_image_base(const char *state_dir, const char *rootfs, const char *agent,
		     const char *kernel_dir, const struct bf_caller *reader, char *initrd,
		     char *kernel, char *release, char *etc, struct bf_error *err)
{
	struct image_job j = { state_dir, rootfs, agent, kernel_dir, reader, initrd, kernel, release,
			       etc, err, -EIO };
	pthread_t t;
	int r;

	r = pthread_create(&t, NULL, image_as_reader, &j);
	if (r != 0)
		return bf_error_set(err, r, "image: cannot start a thread: %s", strerror(r));
	pthread_join(t, NULL);
	return j.result;
}

int bf_vm_image_bottle(const char *base, const char *etc_tree, const char *etc_dir,
		       const char *run_dir, char *out, size_t len, struct bf_error *err)
{
	char tmp[PATH_MAX + 16], src[PATH_MAX];
	cleanup_close int in = open(base, O_RDONLY | O_CLOEXEC);
	cleanup_close int fd = -1;
	struct stat st;
	struct bf_cpio c;
	off_t left;
	int r = 0;

	if ((size_t)snprintf(out, len, "%s/initrd", run_dir) >= len)
		return bf_error_set(err, ENAMETOOLONG, "run dir path too long");
	if (in < 0 || fstat(in, &st) < 0)
		return bf_error_set(err, errno, "%s: %s", base, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return bf_error_set(err, errno, "%s: %s", tmp, strerror(errno));
	/* In the kernel (a reflink where the filesystem has them). */
	for (left = st.st_size; left > 0;) {
		ssize_t n = copy_file_range(in, NULL, fd, NULL, (size_t)left, 0);

		if (n <= 0) {
			r = bf_error_set(err, n < 0 ? errno : EIO, "%s: %s", tmp, strerror(n < 0 ? errno : EIO));
			break;
		}
		left -= n;
	}
	bf_cpio_init(&c, fd);
	c.off = st.st_size;
	if (r == 0)
		r = bf_cpio_dir(&c, "etc", 0755, 0, 0, err);
	if (r == 0 && etc_tree)
		r = bf_cpio_tree(&c, "etc", etc_tree, NULL, err);
	if (r == 0) {
		snprintf(src, sizeof(src), "%s/passwd", etc_dir);
		r = add_file(&c, "etc/passwd", src, 0644, err);
	}
	if (r == 0) {
		snprintf(src, sizeof(src), "%s/group", etc_dir);
		r = add_file(&c, "etc/group", src, 0644, err);
	}
	if (r == 0)
		r = bf_cpio_finish(&c, err);
	if (r == 0 && rename(tmp, out) < 0)
		r = bf_error_set(err, errno, "%s: %s", out, strerror(errno));
	if (r < 0)
		unlink(tmp);
	return r;
}
