#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

static int write_file(const char *path, const char *text)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		return -errno;
	return 0;
}

static void map_text(const struct bf_idmap_line *lines, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (; lines->count && used < len; lines++)
		used += (size_t)snprintf(out + used, len - used, "%u %u %u\n", lines->inside,
					 lines->outside, lines->count);
}

int bf_userns_open(const struct bf_idmap_line *uids, const struct bf_idmap_line *gids,
		   struct bf_error *err)
{
	char path[64], map[512];
	int ready[2], done[2], fd = -1, r = 0, status;
	pid_t child;
	char c = 0;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return bf_error_set(err, errno, "pipe: %s", strerror(errno));
	if (pipe2(done, O_CLOEXEC) < 0) {
		r = bf_error_set(err, errno, "pipe: %s", strerror(errno));
		close(ready[0]);
		close(ready[1]);
		return r;
	}
	child = fork();
	if (child == 0) {
		/* Holds the namespace until the parent has its fd. */
		close(ready[0]);
		close(done[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	if (child < 0)
		r = -errno;
	else if (read(ready[0], &c, 1) != 1)
		r = -EPERM;     /* the child could not unshare */
	close(ready[0]);
	if (r == 0) {
		map_text(uids, map, sizeof(map));
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)child);
		r = write_file(path, map);
	}
	if (r == 0) {
		map_text(gids, map, sizeof(map));
		snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)child);
		r = write_file(path, map);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)child);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = -errno;
	}
	close(done[1]);     /* EOF lets the child end */
	while (child > 0 && waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return bf_error_set(err, -r, "cannot make a user namespace with the bottle's id maps: %s",
				    strerror(-r));
	}
	return fd;
}

int bf_idmapped_clone(int dirfd, int userns_fd, struct bf_error *err)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
		.userns_fd = (unsigned long long)userns_fd,
	};
	int fd = (int)syscall(SYS_open_tree, dirfd, "",
			      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

	if (fd < 0)
		return bf_error_set(err, errno, "open_tree: %s", strerror(errno));
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		int e = errno;

		close(fd);
		return bf_error_set(err, e, "cannot idmap the workspace mount (%s)%s", strerror(e),
				    e == EINVAL ? ": its filesystem does not support idmapped mounts" : "");
	}
	return fd;
}

bool bf_idrange_free_of_accounts(const char *passwd_path, unsigned long long base,
				 unsigned long long count)
{
	cleanup_fclose FILE *f = fopen(passwd_path, "re");
	char line[1024];

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f)) {
		/* name:password:uid:... (the password may be empty) */
		char *uid = strchr(line, ':');
		unsigned long long v;

		if (!uid || !(uid = strchr(uid + 1, ':')))
			continue;
		v = strtoull(uid + 1, NULL, 10);
		if (v >= base && v < base + count)
			return false;
	}
	return true;
}

bool bf_idmap_parse_root(const char *text, struct bf_idmap_line *out)
{
	const char *line = text;

	while (line && *line) {
		unsigned inside, outside, count;

		if (sscanf(line, " %u %u %u", &inside, &outside, &count) == 3 && count > 0 &&
		    inside == 0) {
			out->inside = inside;
			out->outside = outside;
			out->count = count;
			return true;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

int bf_idmap_read_root(pid_t pid, const char *which, struct bf_idmap_line *out)
{
	char path[64], text[1024];
	cleanup_close int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	return bf_idmap_parse_root(text, out) ? 0 : -ENOENT;
}
