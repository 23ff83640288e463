#include "vm_strays.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bsd/string.h>

#include "../cleanup.h"
#include "../spawn.h"
#include "vm_shim.h"

#define MAX_KILLED 16

void bf_vm_exes_find(struct bf_vm_exes *out)
{
	if (bf_libexec_path(BF_VM_SHIM_NAME, out->shim, sizeof(out->shim)) < 0)
		out->shim[0] = '\0';
	if (bf_find_program("qemu-system-x86_64", out->qemu, sizeof(out->qemu)) < 0)
		out->qemu[0] = '\0';
}

static bool same_file(const char *path, const struct stat *want)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

/* NAME when `dir` is RUN_ROOT/NAME (one component), else NULL. */
static const char *name_in(const char *run_root, const char *dir, size_t dir_len, char *name,
			   size_t len)
{
	size_t root_len = strlen(run_root);

	if (dir_len <= root_len + 1 || strncmp(dir, run_root, root_len) != 0 || dir[root_len] != '/')
		return NULL;
	dir += root_len + 1;
	dir_len -= root_len + 1;
	if (dir_len >= len || memchr(dir, '/', dir_len) || (dir_len <= 2 && dir[0] == '.'))
		return NULL;
	memcpy(name, dir, dir_len);
	name[dir_len] = '\0';
	return name;
}

/* The run dir a process of ours names: the shim's argv[1], QEMU's agent
 * chardev path=RUN_DIR/agent.sock. */
static const char *vm_of(pid_t pid, bool shim, const char *run_root, char *name, size_t len)
{
	char path[64], buf[8192];
	cleanup_close int fd = -1;
	size_t at, total = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	while (total < sizeof(buf) - 1 && (n = read(fd, buf + total, sizeof(buf) - 1 - total)) > 0)
		total += (size_t)n;
	buf[total] = '\0';
	for (at = 0; at < total; at += strlen(buf + at) + 1) {
		const char *arg = buf + at, *p, *end;

		if (shim) {
			if (at == 0)
				continue;
			return name_in(run_root, arg, strlen(arg), name, len);
		}
		p = strstr(arg, "path=");
		if (!p || strncmp(arg, "socket,id=agent,", 16) != 0)
			continue;
		p += 5;
		end = strstr(p, "/agent.sock");
		if (!end || (end[11] != ',' && end[11] != '\0'))
			return NULL;
		return name_in(run_root, p, (size_t)(end - p), name, len);
	}
	return NULL;
}

/* QEMU runs as root until it drops to a bottle's id, which has no
 * account: a user's own QEMU naming a run dir is none of ours (nor may it
 * crowd out the real one). */
static bool qemu_owner(uid_t uid)
{
	return uid == 0 || (uid >= 65536 && !getpwuid(uid));
}

int bf_vm_procs_each(const char *run_root, const struct bf_vm_exes *exes,
		     int (*found)(void *ctx, const char *name, pid_t pid, int pidfd), void *ctx,
		     struct bf_error *err)
{
	struct stat shim_st, qemu_st;
	bool have_shim = exes->shim[0] && stat(exes->shim, &shim_st) == 0;
	bool have_qemu = exes->qemu[0] && stat(exes->qemu, &qemu_st) == 0;
	cleanup_closedir DIR *proc = NULL;
	struct dirent *d;

	if (!have_shim && !have_qemu)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return bf_error_set(err, errno, "/proc: %s", strerror(errno));
	while ((d = readdir(proc))) {
		/* name outlives the block below: vm points into it */
		// cppcheck-suppress variableScope
		char path[64], name[256];
		const char *vm = NULL;
		struct stat st;
		pid_t pid;
		int fd;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		pid = (pid_t)atoi(d->d_name);
		/* Opened first, checked after: the pidfd pins what was checked. */
		fd = pidfd_open(pid, 0);
		if (fd < 0)
			continue;
		/* A shim is root's; QEMU root's or a bottle's id's. */
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
		if (stat(path, &st) == 0) {
			snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
			if (have_shim && st.st_uid == 0 && same_file(path, &shim_st))
				vm = vm_of(pid, true, run_root, name, sizeof(name));
			else if (have_qemu && qemu_owner(st.st_uid) && same_file(path, &qemu_st))
				vm = vm_of(pid, false, run_root, name, sizeof(name));
		}
		if (!vm || found(ctx, vm, pid, fd) != 1)
			close(fd);
	}
	return 0;
}

struct kill_ctx {
	const char *name;
	int fds[MAX_KILLED];
	size_t n;
};

static int kill_one(void *ctx, const char *name, pid_t pid, int pidfd)
{
	struct kill_ctx *k = ctx;

	(void)pid;
	if (strcmp(name, k->name) != 0 || k->n == MAX_KILLED)
		return 0;
	if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0)
		return 0;
	k->fds[k->n++] = pidfd;
	return 1;
}

int bf_vm_kill_by_name(const char *run_root, const char *name, const struct bf_vm_exes *exes,
		       struct bf_error *err)
{
	struct kill_ctx k = { name, { 0 }, 0 };
	int r = bf_vm_procs_each(run_root, exes, kill_one, &k, err);
	size_t i;

	for (i = 0; i < k.n; i++) {
		struct pollfd p = { k.fds[i], POLLIN, 0 };

		poll(&p, 1, 5000);
		close(k.fds[i]);
	}
	return r < 0 ? r : (int)k.n;
}
