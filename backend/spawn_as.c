/* Starting a host program as another identity (git-gate's git runs as
 * the bottle's id or as the manifest's writer, never as root). fork and
 * exec rather than posix_spawn, which cannot change ids; the child makes
 * only async-signal-safe calls, as the daemon has threads. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

static void child(const char *exe, char *const argv[], char *const envp[], const int fds[4],
		  int null, const struct bf_spawn_ids *ids)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int moved[4], i;

	sigemptyset(&none);
	for (i = 1; i < NSIG; i++)
		sigaction(i, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Out of the way of 0..3 first, so that no dup2 overwrites a source. */
	for (i = 0; i < 4; i++) {
		int from = fds[i] >= 0 ? fds[i] : (i == 3 ? -1 : null);

		moved[i] = from < 0 ? -1 : fcntl(from, F_DUPFD, 10);
		if (from >= 0 && moved[i] < 0)
			_exit(127);
	}
	for (i = 0; i < 4; i++)
		if (moved[i] >= 0 && dup2(moved[i], i) < 0)
			_exit(127);
	if (syscall(SYS_close_range, moved[3] >= 0 ? 4 : 3, ~0U, 0) < 0)
		_exit(127);
	if (setgroups(ids->n_groups, ids->groups) < 0 || setresgid(ids->gid, ids->gid, ids->gid) < 0 ||
	    setresuid(ids->uid, ids->uid, ids->uid) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    chdir("/") < 0)
		_exit(126);
	execve(exe, argv, envp);
	_exit(127);
}

pid_t bf_spawn_as(const char *exe, char *const argv[], char *const envp[], const int fds[4],
		  const struct bf_spawn_ids *ids)
{
	cleanup_close int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid_t pid;

	if (null < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(exe, argv, envp, fds, null, ids);
	return pid;
}

int bf_wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return status;
}
