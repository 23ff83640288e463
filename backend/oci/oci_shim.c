#include "oci_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { ARG_RUNTIME = 1, ARG_ROOT, ARG_BUNDLE, ARG_ID, ARG_PIDFILE, ARG_EXITFILE, N_ARGS };

#define REPORT_FD 3

static void report(const char *fmt, long a, long b)
{
	char line[64];
	int n = snprintf(line, sizeof(line), fmt, a, b);

	if (n > 0 && write(REPORT_FD, line, (size_t)n) < 0)
		_exit(1);
	close(REPORT_FD);
}

static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "re");
	long pid = -1;

	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return (pid_t)pid;
}

/* "exited N" or "killed SIG", written aside and renamed into place. */
static void record_exit(const char *path, int status)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	if (WIFSIGNALED(status))
		fprintf(f, "killed %d\n", WTERMSIG(status));
	else
		fprintf(f, "exited %d\n", WEXITSTATUS(status));
	if (fflush(f) == 0)
		fsync(fileno(f));
	fclose(f);
	rename(tmp, path);
}

static int run_runtime(char **argv)
{
	char *const args[] = {
		argv[ARG_RUNTIME], "--root", argv[ARG_ROOT], "run", "--detach",
		"--bundle", argv[ARG_BUNDLE], "--pid-file", argv[ARG_PIDFILE],
		argv[ARG_ID], NULL,
	};
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* The runtime and the guest get default signals, not ours. */
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execv(args[0], args);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

int bf_oci_shim_main(int argc, char **argv)
{
	pid_t guest, pid;
	int status;

	if (argc != N_ARGS) {
		fprintf(stderr, "%s: not for direct use\n", BF_OCI_SHIM_NAME);
		return 2;
	}
	/* Our own session: the daemon's terminal and signals are not ours.
	 * The daemon reaps us when we end; if it is gone by then, init does. */
	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	status = run_runtime(argv);
	if (status != 0) {
		report("failed %ld %ld\n", status < 0 ? -1 : WEXITSTATUS(status), 0);
		return 1;
	}
	guest = read_pid(argv[ARG_PIDFILE]);
	if (guest <= 0) {
		report("failed %ld %ld\n", -2, 0);
		return 1;
	}
	report("running %ld %ld\n", guest, getpid());
	/* The guest is our child now; anything it leaves behind too. */
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (pid == guest)
			record_exit(argv[ARG_EXITFILE], status);
	}
	return 0;
}
