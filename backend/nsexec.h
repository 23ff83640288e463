/* Running a command inside a running guest by joining its namespaces and
 * cgroups directly (setns), the way nsenter does: a few milliseconds,
 * where asking the OCI runtime (`runc exec`) costs tens. */
#ifndef BOTTLEFS_NSEXEC_H
#define BOTTLEFS_NSEXEC_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "error.h"
#include "seccomp_policy.h"

struct bf_nsexec {
	pid_t target;           /* a process of the guest (its main one) */
	/* The target as recorded at start: a pid that has since become
	 * another process is refused (-ESRCH). 0: not checked. */
	unsigned long long target_start, target_userns;
	const struct bf_seccomp_prog *seccomp;  /* loaded before exec */
	uint64_t caps;          /* bounding/permitted/effective set */
	const char *cmd;        /* run as /bin/sh -c CMD */
	char *const *env;       /* the guest environment */
	const char *workdir;
	uid_t uid;
	gid_t gid;
	int stdin_fd, stdout_fd, stderr_fd;
	/* With pty_size: the command's stdin, stdout, stderr and controlling
	 * terminal is instead a terminal of the guest's devpts (guest_pty.h)
	 * owned by host ids pty_uid:pty_gid, and its master is put in
	 * *pty_master (the three fds above are not used). */
	const struct winsize *pty_size;
	uid_t pty_uid;
	gid_t pty_gid;
	int *pty_master;
};

/* Starts the command, as the leader of a new process group (a new
 * session, with a terminal; signal it with kill(-pid, ...)). Returns the pid of a helper (our child) that
 * reports on `report_fd` first the command's host pid (a pid_t), then its
 * wait status (an int), and exits. -errno with err set on failure. */
pid_t bf_nsexec_spawn(const struct bf_nsexec *x, int report_fd, struct bf_error *err);

/* After a daemon's crash, the commands its exec sessions ran have nobody
 * to read them: kills every process of the guest's cgroup that does not
 * descend from its init `init` (the helpers that joined it, their
 * commands and what those started). Returns how many, or -errno. */
int bf_nsexec_kill_strays(pid_t init);

#endif
