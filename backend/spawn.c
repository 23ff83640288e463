#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

extern char **environ;

pid_t bf_spawn_exe(const char *exe, char *const argv[], int fd0, int fd1, int fd2, int fd3)
{
	cleanup_close int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fds[4] = { fd0, fd1, fd2, fd3 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	pid_t pid;
	int r, i;

	if (null < 0)
		return -errno;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -ENOMEM;
	/* Helpers start with default signals, whatever the daemon ignores
	 * (libfuse ignores SIGPIPE) or blocks. */
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	for (i = 0; i < 4; i++) {
		if (i == 3 && fds[i] < 0)
			break;
		posix_spawn_file_actions_adddup2(&fa, fds[i] >= 0 ? fds[i] : null, i);
	}
	r = posix_spawn(&pid, exe, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return r ? -r : pid;
}

int bf_spawn_wait(char *const argv[], int out_fd)
{
	pid_t pid = bf_spawn_exe(argv[0], argv, -1, out_fd, out_fd, -1);
	int status;

	if (pid < 0)
		return pid;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return status;
}

int bf_libexec_path(const char *name, char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (!out || !len)
		return -EINVAL;
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(out, len, "%s/%s", exe, name);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	snprintf(out, len, "%s/%s", BOTTLEFS_LIBEXECDIR, name);
	return access(out, X_OK) == 0 ? 0 : -ENOENT;
}

int bf_find_program(const char *prog, char *path, size_t path_len)
{
	static const char fallback[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	const char *env = getenv("PATH");
	const char *lists[2] = { env ? env : "", fallback };
	size_t l;

	for (l = 0; l < 2; l++) {
		cleanup_free char *copy = strdup(lists[l]);
		char *save = NULL, *dir;

		if (!copy)
			return -ENOMEM;
		for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			if ((size_t)snprintf(path, path_len, "%s/%s", dir, prog) >= path_len)
				continue;
			if (access(path, X_OK) == 0)
				return 0;
		}
	}
	return -ENOENT;
}
