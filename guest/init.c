/* bottlefs-init: the guest's PID 1 (static; bind-mounted read-only into
 * every bottle). It loads the bottle's syscall filter, starts the main
 * command, forwards the signals it gets to it, reaps every orphan of the
 * guest, and exits with the main command's status when that ends (the
 * kernel then ends whatever else ran in the guest).
 *
 *   bottlefs-init [-s SYSCALL]... -- COMMAND [ARG]...
 *
 * -s allows a call the default filter refuses (the manifest's
 * [seccomp] allow). A main command killed by signal N ends init with
 * status 128+N: PID 1 cannot be killed by its own signal. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../backend/seccomp_policy.h"

#define MAX_RELAX 64

static void usage(void)
{
	fputs("usage: bottlefs-init [-s SYSCALL]... -- COMMAND [ARG]...\n", stderr);
	exit(125);
}

/* A handler, not SIG_DFL: the kernel drops signals that PID 1 leaves at
 * their default. They stay blocked and are taken by sigwaitinfo. */
static void noop(int sig)
{
	(void)sig;
}

static pid_t start_main(char **argv, const sigset_t *none)
{
	pid_t pid = fork();
	int sig;

	if (pid != 0)
		return pid;
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, none, NULL);
	/* Its own process group, so that a terminal's job control and our
	 * forwarding reach it and what it started. */
	setpgid(0, 0);
	execvp(argv[0], argv);
	fprintf(stderr, "bottlefs-init: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static int exit_status(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	char *relax[MAX_RELAX];
	size_t n_relax = 0;
	struct bf_error err = { 0 };
	struct sigaction sa = { .sa_handler = noop };
	sigset_t all, none;
	pid_t main_pid;
	int i = 1, sig;

	/* Blocked first: a signal sent while the filter loads (a stop right
	 * after the start) waits for sigwaitinfo instead of being dropped. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	while (i < argc && strcmp(argv[i], "--") != 0) {
		if (strcmp(argv[i], "-s") != 0 || i + 1 >= argc || n_relax == MAX_RELAX)
			usage();
		relax[n_relax++] = argv[i + 1];
		i += 2;
	}
	if (i + 1 >= argc)
		usage();
	/* Fail closed: no filter, no guest. */
	if (bf_seccomp_load(relax, n_relax, &err) < 0) {
		fprintf(stderr, "bottlefs-init: %s\n", err.msg);
		return 125;
	}
	sigemptyset(&none);
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);      /* fails harmlessly for KILL, STOP */
	main_pid = start_main(argv + i + 1, &none);
	if (main_pid < 0) {
		perror("bottlefs-init: fork");
		return 125;
	}
	for (;;) {
		siginfo_t info;
		pid_t pid;
		int status;

		sig = sigwaitinfo(&all, &info);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(main_pid, sig);
			continue;
		}
		/* Every zombie of the guest ends up with us: reap them all. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == main_pid)
				return exit_status(status);
	}
}
