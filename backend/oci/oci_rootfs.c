#include "oci_rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <bsd/string.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../backends.h"
#include "../cleanup.h"
#include "../bind_workspace.h"
#include "../copy_tree.h"
#include "../disk_image.h"
#include "../guest_user.h"
#include "../host_etc_template.h"
#include "../host_mounts.h"
#include "../spawn.h"

const char *const bf_oci_host_dirs[] = {
	"bin", "sbin", "lib", "lib32", "lib64", "libx32", NULL,
};

bool bf_oci_image_entry_ours(const char *name)
{
	static const char *const ours[] = {
		"proc", "dev", "sys", "tmp", "work", "home", "root", BF_GUEST_INIT_NAME, NULL,
	};
	size_t i;

	for (i = 0; ours[i]; i++)
		if (strcmp(name, ours[i]) == 0)
			return true;
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

int bf_oci_find_init(char *out, size_t len)
{
	return bf_libexec_path("bottlefs-init", out, len);
}

/* A mount point in rootfs/ for an image entry, of the entry's kind:
 * directories and files are bind-mounted over, symlinks copied. */
static int make_mount_point(int rootfd, const char *name, const struct stat *st,
			    const char *link_target, uid_t uid, gid_t gid)
{
	int fd;

	if (S_ISDIR(st->st_mode)) {
		if (mkdirat(rootfd, name, 0755) < 0 && errno != EEXIST)
			return -errno;
	} else if (S_ISLNK(st->st_mode)) {
		if (symlinkat(link_target, rootfd, name) < 0 && errno != EEXIST)
			return -errno;
	} else if (S_ISREG(st->st_mode)) {
		fd = openat(rootfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return -errno;
		close(fd);
	} else {
		return 0;
	}
	return fchownat(rootfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* ROOTFS.image names the image a kept rootfs/ was made for. */
static bool rootfs_matches(const char *rootfs, const char *image)
{
	char path[PATH_MAX + 8], text[PATH_MAX] = "";
	cleanup_close int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s.image", rootfs);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	return n > 0 && (size_t)n == strlen(image) && memcmp(text, image, (size_t)n) == 0;
}

static int stamp_rootfs(const char *rootfs, const char *image, struct bf_error *err)
{
	char path[PATH_MAX + 8];
	cleanup_close int fd = -1;

	snprintf(path, sizeof(path), "%s.image", rootfs);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, image, strlen(image)) != (ssize_t)strlen(image))
		return bf_error_set(err, errno, "%s: %s", path, strerror(errno));
	return 0;
}

/* runc gives a tmpfs the mode of its mount point, whatever the mount's
 * mode= says: /tmp and a none-mode /work are 1777. */
static int tmpfs_modes(const char *rootfs, struct bf_error *err)
{
	cleanup_close int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fchmodat(fd, "tmp", 01777, 0) < 0 || fchmodat(fd, "work", 01777, 0) < 0)
		return bf_error_set(err, errno, "%s: %s", rootfs, strerror(errno));
	return 0;
}

/* rootfs/: made at the first start, owned by the guest's mapped root so
 * that the runtime (which enters it as that root) can use it; read-only
 * inside the guest. It holds our mount points and the image's top-level
 * entries as mount points (host image: the system directories), so that
 * the runtime never creates anything inside the image itself. */
static int make_rootfs(const struct bf_bottle *b, const char *rootfs, uid_t root_uid,
		       gid_t root_gid, struct bf_error *err)
{
	static const char *const dirs[] = { "proc", "dev", "sys", "tmp", "work", "etc", "usr" };
	bool host = strcmp(b->manifest.image, "host") == 0;
	const char *image = host ? "/" : b->manifest.image;
	cleanup_close int rootfd = -1;
	cleanup_closedir DIR *d = NULL;
	struct dirent *de;
	size_t i;
	int r = 0;

	if (!rootfs_matches(rootfs, image))
		bf_remove_tree(rootfs, NULL);
	if (mkdir(rootfs, 0755) < 0) {
		if (errno != EEXIST)
			return bf_error_set(err, errno, "mkdir %s: %s", rootfs, strerror(errno));
		/* Kept from an earlier start of the same image (entries it
		 * gained since get their mount point from the runtime); only
		 * the modes runc copies onto the tmpfs mounts are made sure of. */
		return tmpfs_modes(rootfs, err);
	}
	rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (rootfd < 0 || fchown(rootfd, root_uid, root_gid) < 0)
		return bf_error_set(err, errno, "%s: %s", rootfs, strerror(errno));
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && r == 0; i++) {
		struct stat st = { .st_mode = S_IFDIR | 0755 };

		if (strcmp(dirs[i], "usr") == 0 && !host)
			continue;
		r = make_mount_point(rootfd, dirs[i], &st, NULL, root_uid, root_gid);
	}
	if (r == 0) {
		/* The guest user's home: a mount point for home.img's tree. */
		char home[64];
		struct stat dir = { .st_mode = S_IFDIR | 0755 };

		bf_guest_home(&b->manifest, home, sizeof(home));
		if (strncmp(home, "/home/", 6) == 0) {
			r = make_mount_point(rootfd, "home", &dir, NULL, root_uid, root_gid);
			if (r == 0) {
				int homes = openat(rootfd, "home", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

				r = homes < 0 ? -errno : make_mount_point(homes, home + 6, &dir, NULL, root_uid, root_gid);
				if (homes >= 0)
					close(homes);
			}
		} else {
			r = make_mount_point(rootfd, home + 1, &dir, NULL, root_uid, root_gid);
		}
	}
	if (r == 0) {
		int fd = openat(rootfd, BF_GUEST_INIT_NAME, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0755);
		if (fd < 0)
			r = -errno;
		else
			close(fd);
	}
	if (r < 0)
		return bf_error_set(err, -r, "making the guest's root in %s: %s", rootfs, strerror(-r));
	d = opendir(image);
	if (!d)
		return bf_error_set(err, errno, "image %s: %s", image, strerror(errno));
	while ((de = readdir(d)) && r == 0) {
		char link_target[PATH_MAX] = "";
		struct stat st;

		if (bf_oci_image_entry_ours(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (host) {
			/* The host's system dirs only: what a host image shows. */
			bool wanted = S_ISDIR(st.st_mode) && strcmp(de->d_name, "usr") == 0;

			for (i = 0; bf_oci_host_dirs[i] && !wanted; i++)
				wanted = strcmp(de->d_name, bf_oci_host_dirs[i]) == 0;
			if (!wanted)
				continue;
		}
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlinkat(dirfd(d), de->d_name, link_target, sizeof(link_target) - 1);
			if (n < 0)
				continue;
			link_target[n] = '\0';
		}
		if (host && S_ISDIR(st.st_mode) && strcmp(de->d_name, "usr") == 0)
			continue;   /* made above */
		if (!host && strcmp(de->d_name, "etc") == 0 && S_ISDIR(st.st_mode))
			continue;   /* made above */
		r = make_mount_point(rootfd, de->d_name, &st, link_target, root_uid, root_gid);
	}
	if (r < 0)
		return bf_error_set(err, -r, "making the guest's root in %s: %s", rootfs, strerror(-r));
	r = tmpfs_modes(rootfs, err);
	return r < 0 ? r : stamp_rootfs(rootfs, image, err);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The image must be a directory bottlefs never writes into: not the host's
 * root, not inside the state directory. */
static int check_image(const char *image, const char *run_dir, struct bf_error *err)
{
	char real[PATH_MAX], state[PATH_MAX];

	if (!realpath(image, real))
		return bf_error_set(err, errno == ENOENT ? ENOENT : errno, "image %s: %s", image,
				    strerror(errno));
	if (strcmp(real, "/") == 0)
		return bf_error_set(err, EINVAL, "image may not be / (use image = \"host\")");
	if (bf_state_dir_of(run_dir, state) && bf_path_within(real, state))
		return bf_error_set(err, EINVAL, "image %s is inside the state directory", image);
	return 0;
}

/* A bind workspace: a real directory (no symlink anywhere on its path),
 * owned by someone other than root, and by the manifest's writer unless
 * root wrote it: the guest user acts as that owner on the host. */

/* The host's /etc for image = "host": the shared filtered copy, linked
 * (RUN_DIR/host-etc), and the bottle's own passwd and group, which name
 * its guest user (RUN_DIR/etc-user), made at its first start and kept. A
 * bottle first started before the copies were shared keeps its whole
 * copy (RUN_DIR/etc). Either is ours: a user named by a rewritten
 * manifest is added to it. */
static int prepare_host_etc(const struct bf_bottle *b, const char *run_dir,
			    struct bf_guest_user *user, struct bf_error *err)
{
	char path[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX], state[PATH_MAX];
	static const char *const own[] = { "passwd", "group" };
	cleanup_close int from = -1;
	cleanup_close int to = -1;
	int r = 0;

	snprintf(path, sizeof(path), "%s/etc", run_dir);
	if (exists(path))
		return bf_guest_user_resolve(&b->manifest, path, true, user, err);
	snprintf(path, sizeof(path), "%s/" BF_OCI_ETC_USER, run_dir);
	snprintf(link, sizeof(link), "%s/" BF_HOST_ETC_LINK, run_dir);
	if (!bf_state_dir_of(run_dir, state))
		return bf_error_set(err, ENOENT, "%s: no state directory above it", run_dir);
	if (exists(path)) {
		struct stat st;

		/* A copy removed by hand: linked to the current one; the
		 * bottle's own files, and so its user's id, stay. */
		if (stat(link, &st) < 0 && (r = bf_host_etc_link(state, "/etc", run_dir, err)) < 0)
			return r;
		return bf_guest_user_resolve(&b->manifest, path, true, user, err);
	}
	/* Linked first, own files last: a crash between leaves no etc-user,
	 * and the next start makes both again. */
	snprintf(tmp, sizeof(tmp), "%s/" BF_OCI_ETC_USER ".tmp", run_dir);
	if ((r = bf_remove_tree(tmp, err)) < 0 || (r = bf_remove_tree(path, err)) < 0)
		return r;
	r = bf_host_etc_link(state, "/etc", run_dir, err);
	if (r < 0)
		return r;
	if (mkdir(tmp, 0755) < 0)
		return bf_error_set(err, errno, "mkdir %s: %s", tmp, strerror(errno));
	from = open(link, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	to = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (from < 0 || to < 0)
		return bf_error_set(err, errno, "open %s: %s", from < 0 ? link : tmp, strerror(errno));
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]) && r == 0; i++) {
		r = bf_copy_file_at(from, to, own[i]);
		if (r < 0)
			bf_error_set(err, -r, "copy %s/%s: %s", link, own[i], strerror(-r));
	}
	if (r == 0)
		r = bf_guest_user_resolve(&b->manifest, tmp, true, user, err);
	if (r == 0 && rename(tmp, path) < 0)
		r = bf_error_set(err, errno, "rename %s: %s", tmp, strerror(errno));
	return r;
}

int bf_oci_prepare(const struct bf_bottle *b, const char *run_dir,
		   struct bf_guest_user *user, struct bf_error *err)
{
	const struct bf_manifest *m = &b->manifest;
	bool host = strcmp(m->image, "host") == 0;
	char path[PATH_MAX];
	uid_t root_uid = (uid_t)b->meta.id_base;
	gid_t root_gid = (gid_t)b->meta.id_base;
	int r;

	memset(user, 0, sizeof(*user));
	user->id_base = b->meta.id_base;
	if (!b->meta.id_base)
		return bf_error_set(err, EINVAL, "bottle has no guest id range");
	/* Searchable by the guest's mapped root group only (the runtime
	 * enters rootfs/ as it), readable by nobody but root. */
	if ((mkdir(run_dir, 0710) < 0 && errno != EEXIST) || chown(run_dir, 0, root_gid) < 0 ||
	    chmod(run_dir, 0710) < 0)
		return bf_error_set(err, errno, "mkdir %s: %s", run_dir, strerror(errno));
	r = bf_check_mount_sources(m, run_dir, err);
	if (r < 0)
		return r;
	if (!host) {
		struct stat st;

		r = check_image(m->image, run_dir, err);
		if (r < 0)
			return r;
		if (stat(m->image, &st) < 0 || !S_ISDIR(st.st_mode))
			return bf_error_set(err, ENOENT, "image %s is not a directory", m->image);
		snprintf(path, sizeof(path), "%s/etc", m->image);
		r = bf_guest_user_resolve(&b->manifest, path, false, user, err);
	} else {
		r = prepare_host_etc(b, run_dir, user, err);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/rootfs", run_dir);
		r = make_rootfs(b, path, root_uid, root_gid, err);
	}
	/* The home: persistent per bottle, the guest user's. */
	if (r == 0)
		r = bf_disk_image_ensure(b, run_dir, "home", NULL, root_uid + user->uid, root_gid + user->gid, err);
	if (r == 0 && m->workspace_mode == BF_WORKSPACE_BIND) {
		r = bf_bind_workspace_check(b, user, err);
		snprintf(path, sizeof(path), "%s/workspace", run_dir);
		if (r == 0 && mkdir(path, 0700) < 0 && errno != EEXIST)
			r = bf_error_set(err, errno, "mkdir %s: %s", path, strerror(errno));
	}
	if (r < 0 || m->workspace_mode != BF_WORKSPACE_COPY)
		return r;
	snprintf(path, sizeof(path), "%s/work", run_dir);
	if (exists(path))
		return 0;   /* a snapshot from before work.img: kept as it is */
	user->work_image = true;
	return bf_disk_image_ensure(b, run_dir, "work", m->workspace_path, root_uid + user->uid,
			    root_gid + user->gid, err);
}
