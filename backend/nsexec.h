/* Running a command inside a running guest by joining its namespaces and
 * cgroups directly (setns), the way nsenter does: a few milliseconds,
 * where asking the OCI runtime (`runc exec`) costs tens. */
#ifndef BOTTLEFS_NSEXEC_H
#define BOTTLEFS_NSEXEC_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "error.h"
#include "exec_session.h"
#include "seccomp_policy.h"

struct bf_nsexec {
	pid_t target;           /* a process of the guest (its main one) */
	/* The target as recorded at start: a pid that has since become
	 * another process is refused (-ESRCH). 0: not checked. */
	unsigned long long target_start, target_userns;
	const struct bf_seccomp_prog *seccomp;  /* loaded before exec */
	uint64_t caps;          /* bounding/permitted/effective set */
	char *const *env;       /* the guest environment */
	const char *workdir;
	uid_t uid;
	gid_t gid;
	/* A terminal (io->pty_size) is one of the guest's devpts
	 * (guest_pty.h), owned by these host ids. */
	uid_t pty_uid;
	gid_t pty_gid;
};

/* Starts `/bin/sh -c CMD`, as the leader of a new process group (a new
 * session, with a terminal; signal it with kill(-pid, ...)), with the
 * stdio or terminal `io` asks for (a bf_exec_spawn_fn's work). Returns the pid of a helper (our child) that
 * reports on `report_fd` first the command's host pid (a pid_t), then its
 * wait status (an int), and exits. -errno with err set on failure. */
pid_t bf_nsexec_spawn(const struct bf_nsexec *x, const char *cmd, const struct bf_exec_io *io,
		      int report_fd, struct bf_error *err);

/* The program each guest's zygote runs (see nsexec.c): a fork of the
 * daemon that joined the guest's cgroups execs it with the fds it holds,
 * and it forks the helper of each command from there. */
#define BF_EXEC_ZYGOTE_NAME "bottlefs-exec-zygote"
int bf_nsexec_zygote_main(int argc, char **argv);

/* After a daemon's crash, the commands its exec sessions ran have nobody
 * to read them: kills every process of the guest's cgroup that does not
 * descend from its init `init` (the helpers that joined it, their
 * commands and what those started). Returns how many, or -errno. */
int bf_nsexec_kill_strays(pid_t init);

#endif
