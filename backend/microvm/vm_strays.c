#include "vm_strays.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cleanup.h"

#define MAX_STRAYS 16

/* Whether /proc/PID is root's, runs `exe` (same file) and has the
 * argument the caller looks for. */
static bool is_stray(pid_t pid, const struct stat *exe, const char *run_dir, bool shim)
{
	char path[64], buf[8192], want[PATH_MAX + 32];
	cleanup_close int fd = -1;
	struct stat st;
	size_t at, n_total = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &st) < 0 || st.st_dev != exe->st_dev || st.st_ino != exe->st_ino)
		return false;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) < 0 || st.st_uid != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	while ((n = read(fd, buf + n_total, sizeof(buf) - 1 - n_total)) > 0)
		n_total += (size_t)n;
	buf[n_total] = '\0';
	snprintf(want, sizeof(want), "%s/agent.sock", run_dir);
	for (at = 0; at < n_total; at += strlen(buf + at) + 1) {
		const char *arg = buf + at;

		if (shim) {
			/* argv[1] */
			if (at == 0)
				continue;
			return strcmp(arg, run_dir) == 0;
		}
		/* QEMU's chardev option: socket,id=agent,path=RUN_DIR/agent.sock,... */
		{
			const char *hit = strstr(arg, want);

			if (hit && (hit == arg || hit[-1] == '=') &&
			    (hit[strlen(want)] == '\0' || hit[strlen(want)] == ','))
				return true;
		}
	}
	return false;
}

int bf_vm_kill_strays(const char *run_dir, const char *shim_exe, const char *qemu_exe,
		      struct bf_error *err)
{
	struct stat shim_st, qemu_st;
	int fds[MAX_STRAYS];
	size_t nfds = 0, i;
	struct dirent *d;
	DIR *proc;
	bool have_shim = stat(shim_exe, &shim_st) == 0, have_qemu = stat(qemu_exe, &qemu_st) == 0;

	if (!have_shim && !have_qemu)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return bf_error_set(err, errno, "/proc: %s", strerror(errno));
	while ((d = readdir(proc)) && nfds < MAX_STRAYS) {
		pid_t pid;
		int fd;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		pid = (pid_t)atoi(d->d_name);
		/* Opened first, checked after: the pidfd pins what was checked. */
		fd = pidfd_open(pid, 0);
		if (fd < 0)
			continue;
		if ((have_shim && is_stray(pid, &shim_st, run_dir, true)) ||
		    (have_qemu && is_stray(pid, &qemu_st, run_dir, false))) {
			if (pidfd_send_signal(fd, SIGKILL, NULL, 0) == 0) {
				fds[nfds++] = fd;
				continue;
			}
		}
		close(fd);
	}
	closedir(proc);
	for (i = 0; i < nfds; i++) {
		struct pollfd p = { fds[i], POLLIN, 0 };

		poll(&p, 1, 5000);
		close(fds[i]);
	}
	return (int)nfds;
}
