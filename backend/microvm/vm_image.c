#include "vm_image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sha2.h>
#include <bsd/string.h>

#include "../cleanup.h"
#include "vm_cpio.h"

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

static int write_base(const char *path, const char *rootfs, const char *agent,
		      const char *kernel_dir, char mods[][64], size_t n_mods, struct bf_error *err)
{
	char tmp[PATH_MAX + 16], src[PATH_MAX], list[64 * 72] = "";
	cleanup_close int fd = -1;
	struct bf_cpio c;
	size_t i;
	int r;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return bf_error_set(err, errno, "%s: %s", tmp, strerror(errno));
	bf_cpio_init(&c, fd);
	r = bf_cpio_tree(&c, "", rootfs, not_from_image, err);
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
	if (r == 0 && (fsync(fd) < 0 || rename(tmp, path) < 0))
		r = bf_error_set(err, errno, "%s: %s", path, strerror(errno));
	if (r < 0)
		unlink(tmp);
	return r;
}

int bf_vm_image_base(const char *state_dir, const char *rootfs, const char *agent,
		     const char *kernel_dir, char *out, size_t len, struct bf_error *err)
{
	char mods[32][64], hex[SHA256_DIGEST_STRING_LENGTH], dir[PATH_MAX], src[PATH_MAX];
	cleanup_close int root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n_mods = 0, i;
	SHA2_CTX h;
	int r;

	if (root < 0)
		return bf_error_set(err, errno, "image %s: %s (a microvm image is a root filesystem directory)",
				    rootfs, strerror(errno));
	r = read_modules(kernel_dir, mods, 32, &n_mods, err);
	if (r < 0)
		return r;
	SHA256Init(&h);
	SHA256Update(&h, (const uint8_t *)"bottlefs-vm-image 1\n", 20);
	r = digest_file(&h, agent, err);
	for (i = 0; r == 0 && i < n_mods; i++) {
		snprintf(src, sizeof(src), "%s/modules/%s", kernel_dir, mods[i]);
		r = digest_file(&h, src, err);
	}
	if (r == 0)
		r = digest_tree(&h, root, "", true, err);
	if (r < 0)
		return r;
	SHA256End(&h, hex);
	snprintf(dir, sizeof(dir), "%s/vm-cache", state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return bf_error_set(err, errno, "%s: %s", dir, strerror(errno));
	if ((size_t)snprintf(out, len, "%s/%s.cpio", dir, hex) >= len)
		return bf_error_set(err, ENAMETOOLONG, "state dir path too long");
	if (access(out, R_OK) == 0)
		return 0;
	return write_base(out, rootfs, agent, kernel_dir, mods, n_mods, err);
}

int bf_vm_image_bottle(const char *base, const char *etc_dir, const char *run_dir, char *out,
		       size_t len, struct bf_error *err)
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
