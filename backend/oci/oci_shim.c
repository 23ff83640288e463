#include "oci_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/signalfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../backends.h"
#include "../cleanup.h"
#include "../bind_workspace.h"
#include "../disk_image.h"
#include "../exit_file.h"
#include "../idmap.h"
#include "../log_pump.h"
#include "../mountinfo.h"
#include "../shim.h"
#include "../spawn.h"

enum { ARG_RUNTIME = 1, ARG_ROOT, ARG_BUNDLE, ARG_ID, ARG_PIDFILE, ARG_EXITFILE, ARG_WORKSPACE,
       ARG_LOG_MAX, N_ARGS };

#define REPORT_FD 3

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

static int run_runtime(char **argv, int out_fd)
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
		sigset_t none;

		/* The runtime and the guest get default signals, not ours, and
		 * write into the pipe we read: no host file of theirs. */
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
			_exit(127);
		execv(args[0], args);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}


/* The idmapped bind workspace at BUNDLE/workspace, in our own mount
 * namespace: the mount ends with us and the guest. */
static int shim_attach_workspace(const char *spec, const char *bundle)
{
	struct bf_error err = { 0 };
	char target[4096];

	snprintf(target, sizeof(target), "%s/workspace", bundle);
	if (bf_bind_workspace_attach(spec, target, &err) < 0) {
		fprintf(stderr, "%s: %s\n", BF_OCI_SHIM_NAME, err.msg);
		return -1;
	}
	return 0;
}

/* The bottle's images (the copy workspace's, the home's) at
 * BUNDLE/WHATfs, in our namespace only: they go with us (and their loop
 * devices with them). */
static int mount_images(const char *bundle)
{
	static const char *const images[] = { "work", "home" };
	char img[4200], dir[4200];
	size_t i;

	for (i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		struct bf_error err = { 0 };

		snprintf(img, sizeof(img), "%s/%s.img", bundle, images[i]);
		snprintf(dir, sizeof(dir), "%s/%sfs", bundle, images[i]);
		if (access(img, F_OK) < 0)
			continue;
		if (bf_loop_mount(img, dir, &err) < 0) {
			fprintf(stderr, "%s: mounting %s failed: %s\n", BF_OCI_SHIM_NAME, img, err.msg);
			return -1;
		}
	}
	return 0;
}

/* Our copy of the host's mounts must not pin a FUSE mount, bottlefs's
 * own above all: its daemon would never learn that it was unmounted. */
static void detach_fuse_mounts(void)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], *points[256];
	int n = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && n < 256) {
		char point[4096], type[256];
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
		    sscanf(dash + 3, "%255s", type) != 1 || strncmp(type, "fuse", 4) != 0)
			continue;
		bf_mountinfo_unescape(point);
		points[n] = strdup(point);
		if (points[n])
			n++;
	}
	/* Deepest (latest) first. */
	while (n-- > 0) {
		umount2(points[n], MNT_DETACH);
		free(points[n]);
	}
}

/* Reads what is in the pipe into the log; false at EOF. */
static bool pump_once(int fd, struct bf_log_pump *lp)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	bf_log_pump_feed(lp, buf, (size_t)n);
	return true;
}

/* Until the runtime and everything that holds the pipe are gone. */
static void drain(int fd, struct bf_log_pump *lp)
{
	struct pollfd p = { fd, POLLIN, 0 };

	while (poll(&p, 1, 2000) > 0 && pump_once(fd, lp))
		;
	bf_log_pump_flush(lp);
}

/* The guest is our child now (we are its subreaper); anything it leaves
 * behind too. Its output goes to the log until it and the pipe are done. */
static void supervise(pid_t guest, int out, int sig, struct bf_log_pump *lp, const char *exitfile)
{
	struct pollfd p[2] = { { out, POLLIN, 0 }, { sig, POLLIN, 0 } };
	bool guest_done = false;

	while (!guest_done || p[0].fd >= 0) {
		pid_t pid;
		int status;

		/* Once the guest has ended, the pipe gets a moment to drain. */
		if (poll(p, 2, guest_done ? 2000 : -1) == 0)
			break;
		if (p[0].revents && !pump_once(out, lp))
			p[0].fd = -1;
		if (p[1].revents) {
			struct signalfd_siginfo si;

			if (read(sig, &si, sizeof(si)) < 0 && errno != EAGAIN)
				break;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == guest) {
				bf_exit_file_write(exitfile, status);
				guest_done = true;
			}
		if (pid < 0 && errno == ECHILD)
			guest_done = true;
	}
	bf_log_pump_flush(lp);
}

int bf_oci_shim_main(int argc, char **argv)
{
	struct bf_log_pump lp;
	char log_path[4200];
	sigset_t chld;
	int status, pipefd[2], sig;
	pid_t guest;

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
	/* A mount namespace of our own, a slave of the host's (unmounts on a
	 * shared host reach it), so that what we mount for the guest never
	 * shows on the host and goes with us. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		fprintf(stderr, "%s: mount namespace: %s\n", BF_OCI_SHIM_NAME, strerror(errno));
		bf_shim_report(REPORT_FD, "failed %ld %ld\n", -3, 0);
		return 1;
	}
	if (mount_images(argv[ARG_BUNDLE]) < 0 ||
	    (strcmp(argv[ARG_WORKSPACE], "-") != 0 && shim_attach_workspace(argv[ARG_WORKSPACE], argv[ARG_BUNDLE]) < 0)) {
		bf_shim_report(REPORT_FD, "failed %ld %ld\n", -4, 0);
		return 1;
	}
	detach_fuse_mounts();
	snprintf(log_path, sizeof(log_path), "%s/log", argv[ARG_BUNDLE]);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sig = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig < 0 || pipe2(pipefd, O_CLOEXEC) < 0 || bf_log_pump_open(&lp, log_path, atoll(argv[ARG_LOG_MAX]) > 0 ? atoll(argv[ARG_LOG_MAX]) : BF_LOG_MAX) < 0) {
		fprintf(stderr, "%s: cannot set up the guest's output: %s\n", BF_OCI_SHIM_NAME, strerror(errno));
		bf_shim_report(REPORT_FD, "failed %ld %ld\n", -5, 0);
		return 1;
	}
	status = run_runtime(argv, pipefd[1]);
	close(pipefd[1]);
	if (status != 0) {
		drain(pipefd[0], &lp);      /* the runtime's own complaint */
		bf_shim_report(REPORT_FD, "failed %ld %ld\n", status < 0 ? -1 : WEXITSTATUS(status), 0);
		return 1;
	}
	guest = read_pid(argv[ARG_PIDFILE]);
	if (guest <= 0) {
		drain(pipefd[0], &lp);
		bf_shim_report(REPORT_FD, "failed %ld %ld\n", -2, 0);
		return 1;
	}
	bf_shim_report(REPORT_FD, "running %ld %ld\n", guest, getpid());
	supervise(guest, pipefd[0], sig, &lp, argv[ARG_EXITFILE]);
	bf_log_pump_close(&lp);
	return 0;
}
