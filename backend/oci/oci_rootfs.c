#include "oci_rootfs.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cleanup.h"
#include "../copy_tree.h"

#define AGENT_UID 1000

const char *const bf_oci_host_dirs[] = {
	"bin", "sbin", "lib", "lib32", "lib64", "libx32", NULL,
};

/* /etc entries a guest must never read, beyond what is not world-readable
 * (which is dropped too). resolv.conf goes because the guest has no DNS. */
static const char *const etc_secrets[] = {
	"shadow", "shadow-", "gshadow", "gshadow-", "sudoers", "sudoers.d",
	"ssh/ssh_host_*", "ssl/private", "security/opasswd", "resolv.conf",
	"docker", "bottlefs", "machine-id", "credstore", "credstore.encrypted",
	"*.key", "wireguard", "NetworkManager/system-connections",
};

static bool keep_etc_entry(const char *rel, const struct stat *st)
{
	size_t i;

	for (i = 0; i < sizeof(etc_secrets) / sizeof(etc_secrets[0]); i++)
		/* No FNM_PATHNAME: "*.key" is a key file at any depth. */
		if (fnmatch(etc_secrets[i], rel, 0) == 0)
			return false;
	if (S_ISLNK(st->st_mode))
		return true;
	if (S_ISDIR(st->st_mode))
		return (st->st_mode & (S_IROTH | S_IXOTH)) == (S_IROTH | S_IXOTH);
	return (st->st_mode & S_IROTH) != 0;
}

/* Looks `user` up in a passwd file: 1 found, 0 not, -errno. */
static int lookup_user(const char *passwd, const char *user, struct bf_guest_user *out,
		       bool uid_taken[65536])
{
	cleanup_fclose FILE *f = fopen(passwd, "re");
	char line[1024];
	int found = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *name = strtok_r(line, ":", &save);
		char *uid, *gid;

		if (!name || !strtok_r(NULL, ":", &save) || !(uid = strtok_r(NULL, ":", &save)) ||
		    !(gid = strtok_r(NULL, ":", &save)))
			continue;
		if (uid_taken && atol(uid) >= 0 && atol(uid) < 65536)
			uid_taken[atol(uid)] = true;
		if (!found && strcmp(name, user) == 0) {
			out->uid = (uid_t)atol(uid);
			out->gid = (gid_t)atol(gid);
			found = 1;
		}
	}
	return found;
}

static int append_line(const char *path, const char *line)
{
	FILE *f = fopen(path, "ae");
	int r = 0;

	if (!f)
		return -errno;
	if (fputs(line, f) < 0)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

static bool numeric(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* The guest user: root, a number, a name in the image's passwd, or (for
 * the host image) a name added to the copied passwd and group. */
static int resolve_user(const struct bf_bottle *b, const char *etc_dir, bool writable,
			struct bf_guest_user *user, struct bf_error *err)
{
	const char *name = b->manifest.user;
	static bool taken[65536];
	char passwd[PATH_MAX], line[512];
	int r;

	if (numeric(name)) {
		user->uid = user->gid = (uid_t)atol(name);
		return 0;
	}
	snprintf(passwd, sizeof(passwd), "%s/passwd", etc_dir);
	memset(taken, 0, sizeof(taken));
	r = lookup_user(passwd, name, user, taken);
	if (r < 0)
		return bf_error_set(err, -r, "reading %s: %s", passwd, strerror(-r));
	if (r == 1)
		return 0;
	if (!writable)
		return bf_error_set(err, EINVAL, "user \"%s\" is not in the image's /etc/passwd", name);
	user->uid = AGENT_UID;
	while (user->uid < 65000 && taken[user->uid])
		user->uid++;
	user->gid = user->uid;
	snprintf(line, sizeof(line), "%s:x:%u:%u:bottlefs guest:%s:/bin/sh\n", name,
		 (unsigned)user->uid, (unsigned)user->gid, b->manifest.workdir);
	r = append_line(passwd, line);
	if (r == 0) {
		snprintf(passwd, sizeof(passwd), "%s/group", etc_dir);
		snprintf(line, sizeof(line), "%s:x:%u:\n", name, (unsigned)user->gid);
		r = append_line(passwd, line);
	}
	return r < 0 ? bf_error_set(err, -r, "adding user %s: %s", name, strerror(-r)) : 0;
}

/* rootfs/ of a host image: mount points come from the runtime; only the
 * merged-/usr symlinks are ours to make. */
static int prepare_host_rootfs(const char *rootfs, struct bf_error *err)
{
	size_t i;

	if (mkdir(rootfs, 0755) < 0 && errno != EEXIST)
		return bf_error_set(err, errno, "mkdir %s: %s", rootfs, strerror(errno));
	for (i = 0; bf_oci_host_dirs[i]; i++) {
		char host[64], link[PATH_MAX + 64], target[PATH_MAX];
		struct stat st;
		ssize_t n;

		snprintf(host, sizeof(host), "/%s", bf_oci_host_dirs[i]);
		if (lstat(host, &st) < 0 || !S_ISLNK(st.st_mode))
			continue;
		n = readlink(host, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		snprintf(link, sizeof(link), "%s/%s", rootfs, bf_oci_host_dirs[i]);
		if (symlink(target, link) < 0 && errno != EEXIST)
			return bf_error_set(err, errno, "symlink %s: %s", link, strerror(errno));
	}
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int bf_oci_prepare(const struct bf_bottle *b, const char *run_dir,
		   struct bf_guest_user *user, struct bf_error *err)
{
	const struct bf_manifest *m = &b->manifest;
	bool host = strcmp(m->image, "host") == 0;
	char path[PATH_MAX], tmp[PATH_MAX];
	struct bf_copy_opts etc_opts = { .keep = keep_etc_entry };
	int r;

	if (mkdir(run_dir, 0700) < 0 && errno != EEXIST)
		return bf_error_set(err, errno, "mkdir %s: %s", run_dir, strerror(errno));
	if (!host) {
		struct stat st;

		if (stat(m->image, &st) < 0 || !S_ISDIR(st.st_mode))
			return bf_error_set(err, ENOENT, "image %s is not a directory", m->image);
		snprintf(path, sizeof(path), "%s/etc", m->image);
		r = resolve_user(b, path, false, user, err);
	} else {
		snprintf(path, sizeof(path), "%s/rootfs", run_dir);
		r = prepare_host_rootfs(path, err);
		snprintf(path, sizeof(path), "%s/etc", run_dir);
		if (r == 0 && !exists(path)) {
			/* Built aside and renamed, so a crash leaves no half copy. */
			snprintf(tmp, sizeof(tmp), "%s/etc.tmp", run_dir);
			bf_remove_tree(tmp, NULL);
			r = bf_copy_tree("/etc", tmp, &etc_opts, err);
			if (r == 0)
				r = resolve_user(b, tmp, true, user, err);
			if (r == 0 && rename(tmp, path) < 0)
				r = bf_error_set(err, errno, "rename %s: %s", tmp, strerror(errno));
		} else if (r == 0) {
			/* The copy is ours: a user named by a rewritten manifest is added. */
			r = resolve_user(b, path, true, user, err);
		}
	}
	if (r < 0 || m->workspace_mode != BF_WORKSPACE_COPY)
		return r;
	snprintf(path, sizeof(path), "%s/work", run_dir);
	if (exists(path))
		return 0;
	snprintf(tmp, sizeof(tmp), "%s/work.tmp", run_dir);
	bf_remove_tree(tmp, NULL);
	struct bf_copy_opts work_opts = { .chown_to = true, .uid = user->uid, .gid = user->gid };
	r = bf_copy_tree(m->workspace_path, tmp, &work_opts, err);
	if (r == 0 && rename(tmp, path) < 0)
		r = bf_error_set(err, errno, "rename %s: %s", tmp, strerror(errno));
	return r;
}
