#include "guest_process.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "exec_session.h"
#include "guest_caps.h"
#include "netns_listen.h"
#include "nsexec.h"
#include "proc_ident.h"
#include "seccomp_policy.h"

int bf_guest_process_verify(const struct bf_run *run, pid_t parent, struct bf_error *err)
{
	struct bf_proc_ident id;
	int r = bf_proc_ident_read(run->pid, &id);

	if (r < 0)
		return bf_error_set(err, ESRCH, "guest %d is gone", (int)run->pid);
	if (!run->guest_start || id.start != run->guest_start || id.userns != run->guest_userns ||
	    (parent && id.ppid != parent))
		return bf_error_set(err, ESRCH, "pid %d is not the guest bottlefs started (start time, namespace or parent differ)",
				    (int)run->pid);
	return 0;
}

int bf_guest_process_pidfd(const struct bf_run *run, pid_t parent, struct bf_error *err)
{
	int fd = pidfd_open(run->pid, 0);

	if (fd < 0)
		return bf_error_set(err, errno == ESRCH ? ESRCH : errno, "guest %d: %s", (int)run->pid,
				    strerror(errno));
	if (bf_guest_process_verify(run, parent, err) < 0) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

/* The guest's PID 1 is PID 1 of its own namespace: the kernel drops a
 * signal it neither catches nor blocks. Right after a start it may still
 * be the runtime's init (which catches signals, but is about to exec
 * ours: one still pending across that exec meets PID 1's default and is
 * dropped) or bottlefs-init before its first instruction.
 * bottlefs-init blocks every signal first thing and never unblocks one
 * but to take it, so a signal sent once PID 1 bears its name and holds
 * the signal cannot be lost; until then (at most HOLD_WAIT_MS, a PID 1
 * that never does gets it all the same) the signal waits. Without this a
 * stop right after a start was lost and waited out stop_timeout. */
#define HOLD_WAIT_MS 2000

static void wait_until_held(pid_t pid, int sig)
{
	char text[4096];
	int waited;

	if (sig == SIGKILL || sig == SIGSTOP || sig == 0)
		return;
	for (waited = 0; waited < HOLD_WAIT_MS; waited++) {
		if (bf_proc_status_read(pid, text, sizeof(text)) < 0)
			return;   /* gone, or unreadable: nothing to wait for */
		if (bf_proc_status_named(text, BF_GUEST_INIT_NAME) &&
		    bf_proc_status_holds_signal(text, sig) != 0)
			return;
		usleep(1000);
	}
}

int bf_guest_process_signal(const struct bf_run *run, pid_t parent, int sig, struct bf_error *err)
{
	cleanup_close int fd = bf_guest_process_pidfd(run, parent, err);

	if (fd < 0)
		return fd;
	wait_until_held(run->pid, sig);
	if (pidfd_send_signal(fd, sig, NULL, 0) < 0)
		return bf_error_set(err, errno, "signal %d to pid %d: %s", sig, (int)run->pid,
				    strerror(errno));
	return 0;
}

/* The filter of bottles that relax nothing, built once. */
static pthread_once_t default_filter_once = PTHREAD_ONCE_INIT;
static struct bf_seccomp_prog default_filter;

static void build_default_filter(void)
{
	if (bf_seccomp_build(NULL, 0, &default_filter, NULL) < 0)
		default_filter.prog.filter = NULL;
}

static pid_t spawn_joined(void *ctx, const char *cmd, const struct bf_exec_io *io, int report_fd,
			  struct bf_error *err)
{
	return bf_nsexec_spawn(ctx, cmd, io, report_fd, err);
}

int bf_guest_process_exec(const struct bf_exec_request *req, struct bf_exec_session *s,
			  const char *cmd, struct bf_error *err)
{
	const struct bf_run *run = req->run;
	struct bf_seccomp_prog relaxed = { 0 };
	struct bf_nsexec how = {
		.target = run->pid,
		.target_start = run->guest_start,
		.target_userns = run->guest_userns,
		.env = req->env,
		.workdir = req->workdir,
		.uid = run->guest_uid,
		.gid = run->guest_gid,
		.caps = run->guest_uid == 0 ? bf_guest_root_cap_mask() : 0,
		/* A terminal is the guest user's, of group tty (5), as login
		 * would make it. */
		.pty_uid = (uid_t)(run->id_offset + run->guest_uid),
		.pty_gid = (gid_t)(run->gid_offset + (run->id_count ? 5 : run->guest_gid)),
	};
	int r;

	if (req->seccomp_allow_len) {
		r = bf_seccomp_build(req->seccomp_allow, req->seccomp_allow_len, &relaxed, err);
		if (r < 0)
			return r;
		how.seccomp = &relaxed;
	} else {
		pthread_once(&default_filter_once, build_default_filter);
		if (!default_filter.prog.filter)
			return bf_error_set(err, ENOMEM, "cannot build the syscall filter");
		how.seccomp = &default_filter;
	}
	r = bf_exec_start(s, cmd, spawn_joined, &how, err);
	bf_seccomp_free(&relaxed);
	return r;
}

int bf_guest_process_sidecar_listen(const struct bf_run *run, int port, struct bf_error *err)
{
	return bf_netns_listen(run->pid, port, err);
}

int bf_guest_process_kill_strays(const struct bf_run *run, pid_t parent)
{
	struct bf_error err = { 0 };
	cleanup_close int fd = bf_guest_process_pidfd(run, parent, &err);

	/* Held while the cgroup is read: the pid stays the guest's. */
	return fd < 0 ? fd : bf_nsexec_kill_strays(run->pid);
}
