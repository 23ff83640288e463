#include "nsexec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "guest_pty.h"
#include "proc_ident.h"
#include "spawn.h"

#define MAX_CGROUPS 16

/* Namespaces to join, in order: the user namespace first (it owns the
 * others, and joining it gives the capabilities to join them), the mount
 * namespace last, since joining it changes what /proc paths mean. */
static const struct {
	const char *name;
	int type;
} namespaces[] = {
	{ "user", CLONE_NEWUSER },
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
	{ "cgroup", CLONE_NEWCGROUP }, { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS },
};

#define N_NS (sizeof(namespaces) / sizeof(namespaces[0]))

struct prepared {
	int ns[N_NS];
	/* Namespaces the guest shares with us (a docker engine without
	 * userns-remap shares the user namespace; on cgroup v1 the cgroup
	 * one): not joined again. Joining our own user namespace fails, and
	 * once in the guest's, ours is no longer ours to join. */
	bool shared[N_NS];
	int root;
	int cgroups[MAX_CGROUPS];   /* open cgroup.procs files */
	size_t n_cgroups;
};

static void prepared_close(struct prepared *p)
{
	size_t i;

	for (i = 0; i < N_NS; i++)
		if (p->ns[i] >= 0)
			close(p->ns[i]);
	for (i = 0; i < p->n_cgroups; i++)
		close(p->cgroups[i]);
	if (p->root >= 0)
		close(p->root);
}

static bool has_all_controllers(const char *superopts, const char *controllers)
{
	char want[256], have[600], *save = NULL, *c;

	snprintf(want, sizeof(want), "%s", controllers);
	snprintf(have, sizeof(have), ",%s,", superopts);
	for (c = strtok_r(want, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		char needle[300];

		snprintf(needle, sizeof(needle), ",%s,", c);
		if (!strstr(have, needle))
			return false;
	}
	return true;
}

/* Finds where the hierarchy holding `controllers` ("" for cgroup2) is
 * mounted, from our mountinfo: "... ROOT MOUNTPOINT ... - TYPE SRC OPTS". */
static int cgroup_dir(const char *controllers, const char *path, char *out, size_t len)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char root[1024], mnt[1024], type[64], opts[512];
		const char *dash = strstr(line, " - ");
		size_t rl;

		if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %*s %511s", type, opts) != 2)
			continue;
		if (*controllers ? strcmp(type, "cgroup") != 0 || !has_all_controllers(opts, controllers)
				 : strcmp(type, "cgroup2") != 0)
			continue;
		rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (strncmp(path, root, rl) != 0)
			continue;
		snprintf(out, len, "%s%s/cgroup.procs", mnt, path + rl);
		return 0;
	}
	return -ENOENT;
}

/* The cgroup v1 controllers that hold a guest's limits (pids, memory,
 * cpu) and its device rules: a command joins their hierarchies. Joining
 * one costs a fifth of a millisecond (an RCU grace period), so not the
 * others (name=systemd, blkio, freezer, cpuset...), which limit nothing
 * bottlefs sets; the guest's pid namespace still ends every command with
 * the guest. */
static bool enforcing_v1(const char *controllers)
{
	static const char *const wanted[] = { "pids", "memory", "cpu", "cpuacct", "devices" };
	char list[256], *save = NULL, *c;

	snprintf(list, sizeof(list), "%s", controllers);
	for (c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
			if (strcmp(c, wanted[i]) == 0)
				return true;
	return false;
}

/* Opens the cgroup.procs of the hierarchies the target is in that hold
 * its limits, so that the child can join them with a write of "0"
 * (itself) before it execs: on cgroup v2 the one hierarchy, on v1 (or
 * hybrid) those of enforcing_v1. */
static int open_cgroups(pid_t target, struct prepared *p, struct bf_error *err)
{
	char path[64], line[2048];
	cleanup_fclose FILE *f = NULL;
	bool v1 = false;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)target);
	f = fopen(path, "re");
	if (!f)
		return bf_error_set(err, errno, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		v1 = v1 || strncmp(line, "0::", 3) != 0;
	rewind(f);
	while (fgets(line, sizeof(line), f) && p->n_cgroups < MAX_CGROUPS) {
		char *controllers = strchr(line, ':'), *cgpath, procs[4096];
		int fd;

		if (!controllers || !(cgpath = strchr(++controllers, ':')))
			continue;
		*cgpath++ = '\0';
		cgpath[strcspn(cgpath, "\n")] = '\0';
		if (v1 ? !enforcing_v1(controllers) : *controllers != '\0')
			continue;
		if (cgroup_dir(controllers, cgpath, procs, sizeof(procs)) < 0)
			continue;   /* a hierarchy we cannot see cannot hold us either */
		fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		p->cgroups[p->n_cgroups++] = fd;
	}
	return 0;
}

static int prepare(const struct bf_nsexec *x, struct prepared *p, struct bf_error *err)
{
	pid_t target = x->target;
	cleanup_close int pidfd = -1;
	char path[64];
	size_t i;
	int r;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < N_NS; i++)
		p->ns[i] = -1;
	p->root = -1;
	/* Held across the opens below: if the pid still names the process
	 * this fd refers to afterwards, everything opened is that process's. */
	pidfd = (int)syscall(SYS_pidfd_open, target, 0);
	if (pidfd < 0)
		return bf_error_set(err, ESRCH, "guest %d: %s", (int)target, strerror(errno));
	for (i = 0; i < N_NS; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)target, namespaces[i].name);
		p->ns[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (p->ns[i] < 0)
			return bf_error_set(err, errno == ENOENT ? ESRCH : errno, "%s: %s", path,
					    strerror(errno));
	}
	for (i = 0; i < N_NS; i++) {
		struct stat theirs, ours;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", namespaces[i].name);
		p->shared[i] = fstat(p->ns[i], &theirs) == 0 && stat(path, &ours) == 0 &&
			       theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev;
	}
	snprintf(path, sizeof(path), "/proc/%d/root", (int)target);
	p->root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->root < 0)
		return bf_error_set(err, errno, "%s: %s", path, strerror(errno));
	r = open_cgroups(target, p, err);
	if (r < 0)
		return r;
	if (x->target_start) {
		unsigned long long start;
		struct stat st;
		pid_t ppid;

		if (bf_proc_start_read(target, &ppid, &start) < 0 || start != x->target_start ||
		    fstat(p->ns[0], &st) < 0 || (unsigned long long)st.st_ino != x->target_userns ||
		    syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
			return bf_error_set(err, ESRCH, "pid %d is no longer the guest bottlefs started",
					    (int)target);
	}
	return 0;
}

/* From here on only async-signal-safe calls: we forked a threaded daemon. */
static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* Exactly the guest init's capabilities (guest_caps.h): the rest leaves
 * the bounding set before the uid changes, so no exec can regain it. */
static int drop_bounding(uint64_t keep)
{
	int cap;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	for (cap = 0; cap < 64; cap++)
		if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return -1;
	return 0;
}

static int set_caps(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	data[0].effective = data[0].permitted = (uint32_t)caps;
	data[1].effective = data[1].permitted = (uint32_t)(caps >> 32);
	data[0].inheritable = data[1].inheritable = 0;
	return (int)syscall(SYS_capset, &hdr, data);
}

/* One command to start: where (x), what, with which stdio. */
struct launch {
	const struct bf_nsexec *x;
	const char *cmd;
	int fds[3];             /* stdin, stdout, stderr (all the terminal) */
	bool terminal;
};

static void run_command(const struct launch *l, int grouped_fd)
{
	const struct bf_nsexec *x = l->x;
	char *const argv[] = { "sh", "-c", (char *)l->cmd, NULL };
	int i;

	for (i = 0; i < 3; i++)
		if (dup2(l->fds[i], i) < 0)
			_exit(126);
	/* Its own process group, so that a kill reaches what it started;
	 * with a terminal, its own session, whose controlling terminal it
	 * is (job control, SIGWINCH). The helper reports the pid only once
	 * this is done. */
	if (l->terminal ? setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0 : setpgid(0, 0) < 0)
		_exit(126);
	write_all(grouped_fd, "", 1);
	close(grouped_fd);
	if (chdir(x->workdir) < 0 && chdir("/") < 0)
		_exit(126);
	if (drop_bounding(x->uid == 0 ? x->caps : 0) < 0)
		_exit(126);
	if (setgroups(0, NULL) < 0 || setresgid(x->gid, x->gid, x->gid) < 0 ||
	    setresuid(x->uid, x->uid, x->uid) < 0)
		_exit(126);
	if (set_caps(x->uid == 0 ? x->caps : 0) < 0)
		_exit(126);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(126);
	if (!x->seccomp || bf_seccomp_apply(x->seccomp) < 0)
		_exit(126);
	execve("/bin/sh", argv, x->env);
	_exit(127);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Closes every fd from 3 up but those in keep[] (which it sorts). */
static void close_except(int *keep, int n)
{
	int from = 3, i;

	qsort(keep, (size_t)n, sizeof(int), cmp_int);
	for (i = 0; i < n; i++) {
		if (keep[i] > from)
			close_range((unsigned)from, (unsigned)keep[i] - 1, 0);
		if (keep[i] >= from)
			from = keep[i] + 1;
	}
	close_range((unsigned)from, ~0U, 0);
}

/* The helper never execs, so close-on-exec does not apply: close every
 * inherited fd it does not need, or it would hold other sessions' pipes
 * (and their EOF) open for as long as its command runs. */
static void close_other_fds(const struct launch *l, const struct prepared *p, int report_fd)
{
	int keep[N_NS + MAX_CGROUPS + 6], n = 0;
	size_t j;

	keep[n++] = report_fd;
	keep[n++] = l->fds[0];
	keep[n++] = l->fds[1];
	keep[n++] = l->fds[2];
	keep[n++] = p->root;
	for (j = 0; j < N_NS; j++)
		keep[n++] = p->ns[j];
	for (j = 0; j < p->n_cgroups; j++)
		keep[n++] = p->cgroups[j];
	close_except(keep, n);
}

/* The daemon's handlers (libfuse's for SIGTERM, SIGINT...) were copied
 * by fork: a kill that arrives before the command's exec must act like
 * one after it, so every signal goes back to its default. */
static void default_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int sig;

	sigemptyset(&dfl.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);     /* fails harmlessly for KILL, STOP */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void helper(const struct launch *l, const struct prepared *p, int report_fd)
{
	int status, grouped[2];
	pid_t pid;
	size_t i;
	char byte;

	default_signals();
	close_other_fds(l, p, report_fd);
	/* A zygote's child is in the cgroups already (n_cgroups 0). */
	for (i = 0; i < p->n_cgroups; i++)
		write_all(p->cgroups[i], "0\n", 2);
	for (i = 0; i < N_NS; i++)
		if (!p->shared[i] && setns(p->ns[i], namespaces[i].type) < 0)
			_exit(125);
	if (fchdir(p->root) < 0 || chroot(".") < 0)
		_exit(125);
	if (pipe2(grouped, O_CLOEXEC) < 0)
		_exit(125);
	pid = fork();   /* the pid namespace applies to our children only */
	if (pid < 0)
		_exit(125);
	if (pid == 0)
		run_command(l, grouped[1]);
	/* Only the command holds its terminal or pipes: their end is its. */
	close(l->fds[0]);
	close(l->fds[1]);
	close(l->fds[2]);
	close(grouped[1]);
	/* Before the pid is reported: a kill of the group must find it. */
	while (read(grouped[0], &byte, 1) < 0 && errno == EINTR)
		;
	close(grouped[0]);
	write_all(report_fd, &pid, sizeof(pid));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(125);
	write_all(report_fd, &status, sizeof(status));
	_exit(0);
}

/* --- the zygote: a process per guest, forked once, that has joined the
 * guest's cgroups (each join costs an RCU grace period, a fifth of a
 * millisecond per cgroup v1 hierarchy) and forks the helper of each
 * command from there. It stays a host process outside the guest's pid
 * namespace (the guest cannot see or signal it), holds the guest's
 * namespace fds, and ends with the guest (its pidfd) or the daemon (its
 * socket). One request is one SOCK_SEQPACKET message: struct zygote_req,
 * then the seccomp filter, the command, the workdir and the environment;
 * stdin, stdout, stderr and the report pipe go along as SCM_RIGHTS. The
 * answer is the helper's pid. */

#define ZYGOTE_MSG_MAX (128 * 1024)

struct zygote_req {
	uint32_t uid, gid;
	uint64_t caps;
	uint32_t n_filter;      /* struct sock_filter entries */
	uint32_t cmd_len, workdir_len, n_env, env_len;  /* with their NULs */
};

struct zygote {
	pid_t target;
	unsigned long long target_start;
	int sock;
	pid_t pid;
	struct zygote *next;
};

static pthread_mutex_t zygotes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zygote *zygotes;

/* In the zygote (a fork of the threaded daemon): async-signal-safe calls
 * only, and no allocation: the request lands in this buffer. */
static _Alignas(8) unsigned char zygote_msg[ZYGOTE_MSG_MAX];

static void zygote_serve(int sock, const struct prepared *p, int guest_pidfd)
{
	char *envp[1024];
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} control;

	for (;;) {
		struct pollfd fds[2] = { { sock, POLLIN, 0 }, { guest_pidfd, POLLIN, 0 } };
		struct iovec iov = { zygote_msg, sizeof(zygote_msg) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
				      .msg_controllen = sizeof(control.buf) };
		struct zygote_req req;
		struct bf_seccomp_prog filter;
		struct bf_nsexec x;
		struct launch l;
		struct cmsghdr *c;
		int got[4] = { -1, -1, -1, -1 }, i;
		size_t at, need;
		ssize_t n;
		pid_t pid;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(0);
		}
		if (fds[1].revents || (fds[0].revents & (POLLHUP | POLLERR)))
			_exit(0);       /* the guest or the daemon is gone */
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			_exit(0);
		c = CMSG_FIRSTHDR(&msg);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(4 * sizeof(int)))
			memcpy(got, CMSG_DATA(c), sizeof(got));
		memset(&req, 0, sizeof(req));
		if ((size_t)n >= sizeof(req))
			memcpy(&req, zygote_msg, sizeof(req));
		at = sizeof(req);
		need = at + (size_t)req.n_filter * sizeof(struct sock_filter) + req.cmd_len +
		       req.workdir_len + req.env_len;
		pid = -1;
		if ((size_t)n < sizeof(req) || need != (size_t)n || got[3] < 0 || !req.cmd_len ||
		    !req.workdir_len || req.n_env >= sizeof(envp) / sizeof(envp[0]) ||
		    zygote_msg[n - 1] != '\0') {
			write_all(sock, &pid, sizeof(pid));
			for (i = 0; i < 4; i++)
				if (got[i] >= 0)
					close(got[i]);
			continue;
		}
		filter.prog.len = (unsigned short)req.n_filter;
		filter.prog.filter = (struct sock_filter *)(void *)(zygote_msg + at);
		at += (size_t)req.n_filter * sizeof(struct sock_filter);
		x = (struct bf_nsexec){ .seccomp = &filter, .caps = req.caps, .uid = req.uid,
					.gid = req.gid, .env = envp };
		l = (struct launch){ &x, (const char *)zygote_msg + at, { got[0], got[1], got[2] }, false };
		at += req.cmd_len;
		x.workdir = (const char *)zygote_msg + at;
		at += req.workdir_len;
		for (i = 0; i < (int)req.n_env; i++) {
			envp[i] = (char *)zygote_msg + at;
			at += strlen(envp[i]) + 1;
		}
		envp[req.n_env] = NULL;
		pid = fork();
		if (pid == 0) {
			close(sock);
			close(guest_pidfd);
			helper(&l, p, got[3]);
		}
		if (pid < 0)
			pid = -errno;   /* the guest's pids limit, most likely */
		for (i = 0; i < 4; i++)
			close(got[i]);
		write_all(sock, &pid, sizeof(pid));
	}
}

/* The zygote's program and its arguments (bf_nsexec_zygote_main): made
 * before the fork, since the child of a threaded daemon may only make
 * async-signal-safe calls. */
struct zygote_argv {
	char exe[PATH_MAX];
	char fds[3 + N_NS][16];
	char *argv[2 + 3 + N_NS];
};

static bool zygote_argv_make(struct zygote_argv *a, int sock, int pidfd, const struct prepared *p)
{
	size_t i;

	if (bf_libexec_path(BF_EXEC_ZYGOTE_NAME, a->exe, sizeof(a->exe)) < 0)
		return false;
	snprintf(a->fds[0], sizeof(a->fds[0]), "%d", sock);
	snprintf(a->fds[1], sizeof(a->fds[1]), "%d", pidfd);
	snprintf(a->fds[2], sizeof(a->fds[2]), "%d", p->root);
	for (i = 0; i < N_NS; i++)
		snprintf(a->fds[3 + i], sizeof(a->fds[0]), "%d", p->shared[i] ? -1 : p->ns[i]);
	a->argv[0] = a->exe;
	for (i = 0; i < 3 + N_NS; i++)
		a->argv[1 + i] = a->fds[i];
	a->argv[1 + 3 + N_NS] = NULL;
	return true;
}

/* Forks the zygote of the guest `x` names; its socket in *sock. The
 * child execs the zygote's own small program, whose forks (two per
 * command) copy a few dozen mappings instead of the daemon's two hundred;
 * where that program is missing, the child serves as it is. */
static pid_t zygote_start(const struct bf_nsexec *x, int *sock, struct bf_error *err)
{
	static char *const no_env[] = { NULL };
	struct zygote_argv zargv;
	struct prepared p;
	int pair[2], pidfd;
	bool exec_program;
	pid_t pid;
	int r = prepare(x, &p, err);

	if (r < 0) {
		prepared_close(&p);
		return r;
	}
	pidfd = (int)syscall(SYS_pidfd_open, x->target, 0);
	if (pidfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		r = bf_error_set(err, errno, "zygote: %s", strerror(errno));
		if (pidfd >= 0)
			close(pidfd);
		prepared_close(&p);
		return r;
	}
	exec_program = zygote_argv_make(&zargv, pair[1], pidfd, &p);
	pid = fork();
	if (pid == 0) {
		struct sigaction ignore = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
		int keep_fds[N_NS + 3], n = 0;
		size_t i;

		default_signals();
		/* Its helpers are reaped by the kernel; each helper resets
		 * SIGCHLD (default_signals) to wait for its command. */
		sigaction(SIGCHLD, &ignore, NULL);
		keep_fds[n++] = pair[1];
		keep_fds[n++] = pidfd;
		keep_fds[n++] = p.root;
		for (i = 0; i < N_NS; i++)
			if (!p.shared[i])
				keep_fds[n++] = p.ns[i];
		for (i = 0; i < p.n_cgroups; i++)
			write_all(p.cgroups[i], "0\n", 2);
		for (i = 0; i < p.n_cgroups; i++)
			close(p.cgroups[i]);
		p.n_cgroups = 0;
		close_except(keep_fds, n);
		if (exec_program) {
			for (i = 0; i < (size_t)n; i++)
				fcntl(keep_fds[i], F_SETFD, 0);
			execve(zargv.exe, zargv.argv, no_env);
		}
		zygote_serve(pair[1], &p, pidfd);
	}
	r = pid < 0 ? bf_error_set(err, errno, "fork: %s", strerror(errno)) : pid;
	close(pair[1]);
	close(pidfd);
	prepared_close(&p);
	if (r < 0)
		close(pair[0]);
	else
		*sock = pair[0];
	return r;
}

/* Reads a non-negative fd number, or -1, from the zygote's argv. */
static bool fd_arg(const char *s, int *fd)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < -1 || v > INT_MAX)
		return false;
	*fd = (int)v;
	return true;
}

int bf_nsexec_zygote_main(int argc, char **argv)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
	struct prepared p;
	int sock, pidfd;
	size_t i;

	bool ok;

	memset(&p, 0, sizeof(p));
	ok = argc == 4 + (int)N_NS && fd_arg(argv[1], &sock) && fd_arg(argv[2], &pidfd) &&
	     fd_arg(argv[3], &p.root) && sock >= 0 && pidfd >= 0 && p.root >= 0;
	for (i = 0; ok && i < N_NS; i++) {
		ok = fd_arg(argv[4 + i], &p.ns[i]);
		p.shared[i] = p.ns[i] < 0;
	}
	if (!ok) {
		fprintf(stderr, "%s: started by bottlefs only, with its fds\n", argv[0]);
		return 2;
	}
	sigaction(SIGCHLD, &ignore, NULL);
	zygote_serve(sock, &p, pidfd);
	return 0;
}

/* Sends one command to a zygote; returns the helper's pid, -EPIPE if the
 * zygote is gone, or the -errno its fork failed with. */
static pid_t zygote_request(int sock, const struct bf_nsexec *x, const char *cmd,
			    const struct bf_exec_io *io, int report_fd)
{
	struct zygote_req req = { .uid = x->uid, .gid = x->gid, .caps = x->caps };
	size_t filter_len = x->seccomp->prog.len * sizeof(struct sock_filter), env_len = 0, i;
	int fds[4] = { io->stdin_fd, io->stdout_fd, io->stderr_fd, report_fd };
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} control;
	struct cmsghdr *c;
	cleanup_free char *env = NULL;
	pid_t pid;
	ssize_t n;

	for (i = 0; x->env && x->env[i]; i++)
		env_len += strlen(x->env[i]) + 1;
	env = malloc(env_len ? env_len : 1);
	if (!env)
		return -ENOMEM;
	for (env_len = 0, i = 0; x->env && x->env[i]; i++) {
		memcpy(env + env_len, x->env[i], strlen(x->env[i]) + 1);
		env_len += strlen(x->env[i]) + 1;
	}
	req.n_filter = x->seccomp->prog.len;
	req.cmd_len = (uint32_t)strlen(cmd) + 1;
	req.workdir_len = (uint32_t)strlen(x->workdir) + 1;
	req.n_env = (uint32_t)i;
	req.env_len = (uint32_t)env_len;
	if (sizeof(req) + filter_len + req.cmd_len + req.workdir_len + env_len > ZYGOTE_MSG_MAX ||
	    req.n_env >= 1024)
		return -E2BIG;
	struct iovec iov[] = {
		{ &req, sizeof(req) },
		{ x->seccomp->prog.filter, filter_len },
		{ (void *)cmd, req.cmd_len },
		{ (void *)x->workdir, req.workdir_len },
		{ env, env_len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 5, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };

	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return errno == EMSGSIZE ? -E2BIG : -EPIPE;
	do
		n = read(sock, &pid, sizeof(pid));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(pid))
		return -EPIPE;
	return pid > 0 ? pid : pid < 0 ? pid : -EIO;
}

/* The zygote of x's guest, started if there is none (or it has gone):
 * locked, so that one request at a time uses its socket. Gone ones are
 * dropped on the way. */
static pid_t zygote_spawn(const struct bf_nsexec *x, const char *cmd, const struct bf_exec_io *io,
			  int report_fd, struct bf_error *err)
{
	struct zygote **zp, *z = NULL;
	pid_t pid;
	int tries;

	pthread_mutex_lock(&zygotes_lock);
	for (zp = &zygotes; *zp;) {
		struct pollfd hup = { (*zp)->sock, 0, 0 };

		if (poll(&hup, 1, 0) == 1 && (hup.revents & (POLLHUP | POLLERR))) {
			struct zygote *gone = *zp;

			*zp = gone->next;
			close(gone->sock);
			free(gone);
			continue;
		}
		if ((*zp)->target == x->target && (*zp)->target_start == x->target_start)
			z = *zp;
		zp = &(*zp)->next;
	}
	for (tries = 0; tries < 2; tries++) {
		if (!z) {
			z = calloc(1, sizeof(*z));
			if (!z) {
				pid = bf_error_set(err, ENOMEM, "out of memory");
				break;
			}
			z->pid = zygote_start(x, &z->sock, err);
			if (z->pid < 0) {
				pid = z->pid;
				free(z);
				z = NULL;
				break;
			}
			z->target = x->target;
			z->target_start = x->target_start;
			z->next = zygotes;
			zygotes = z;
		}
		pid = zygote_request(z->sock, x, cmd, io, report_fd);
		if (pid > 0 || pid == -E2BIG)
			break;
		if (pid != -EPIPE) {
			pid = bf_error_set(err, -pid, "cannot start a process in the guest: %s%s",
					   strerror(-pid),
					   pid == -EAGAIN ? " (its pids limit is reached)" : "");
			break;
		}
		/* Gone (its guest ended, or it died): once more with a new one,
		 * which checks the guest afresh. */
		for (zp = &zygotes; *zp != z; zp = &(*zp)->next)
			;
		*zp = z->next;
		close(z->sock);
		free(z);
		z = NULL;
		pid = bf_error_set(err, ESRCH, "the guest's zygote is gone");
	}
	pthread_mutex_unlock(&zygotes_lock);
	return pid;
}

pid_t bf_nsexec_spawn(const struct bf_nsexec *x, const char *cmd, const struct bf_exec_io *io,
		      int report_fd, struct bf_error *err)
{
	struct launch l = { x, cmd, { io->stdin_fd, io->stdout_fd, io->stderr_fd }, io->pty_size != NULL };
	int master = -1, slave = -1, r;
	struct prepared p;
	pid_t pid;

	/* Pipes through the guest's zygote; a terminal (opened in the
	 * guest's devpts) or a request too big for it, directly. */
	if (!io->pty_size && x->seccomp) {
		pid = zygote_spawn(x, cmd, io, report_fd, err);
		if (pid != -E2BIG)
			return pid;
	}
	r = prepare(x, &p, err);
	if (r == 0 && io->pty_size) {
		r = bf_guest_pty_open(p.root, io->pty_size, x->pty_uid, x->pty_gid, &master, &slave,
				      err);
		l.fds[0] = l.fds[1] = l.fds[2] = slave;
	}
	if (r < 0) {
		prepared_close(&p);
		return r;
	}
	pid = fork();
	if (pid == 0)
		helper(&l, &p, report_fd);
	r = pid < 0 ? bf_error_set(err, errno, "fork: %s", strerror(errno)) : pid;
	prepared_close(&p);
	if (slave >= 0)
		close(slave);
	if (r > 0 && io->pty_size)
		*io->pty_master = master;
	else if (master >= 0)
		close(master);
	return r;
}

/* The hierarchy that lists every process of the guest: the pids
 * controller's (cgroup v1), else the unified one. */
static int guest_procs_path(pid_t init, char *out, size_t len)
{
	char path[64], line[2048], unified[4096] = "";
	cleanup_fclose FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)init);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *controllers = strchr(line, ':'), *cgpath;

		if (!controllers || !(cgpath = strchr(++controllers, ':')))
			continue;
		*cgpath++ = '\0';
		cgpath[strcspn(cgpath, "\n")] = '\0';
		if (strcmp(controllers, "pids") == 0)
			return cgroup_dir("pids", cgpath, out, len);
		if (!*controllers)
			cgroup_dir("", cgpath, unified, sizeof(unified));
	}
	if (!unified[0])
		return -ENOENT;
	snprintf(out, len, "%s", unified);
	return 0;
}

/* Whether `pid` descends from `init` (or is it), by the parents /proc
 * gives; a bounded walk. */
static bool descends_from(pid_t pid, pid_t init)
{
	int steps;

	for (steps = 0; steps < 4096 && pid > 1; steps++) {
		unsigned long long start;
		pid_t ppid;

		if (pid == init)
			return true;
		if (bf_proc_start_read(pid, &ppid, &start) < 0)
			return false;
		pid = ppid;
	}
	return pid == init;
}

int bf_nsexec_kill_strays(pid_t init)
{
	char procs[4096];
	cleanup_fclose FILE *f = NULL;
	long pid;
	int killed = 0, r = guest_procs_path(init, procs, sizeof(procs));

	if (r < 0)
		return r;
	f = fopen(procs, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%ld", &pid) == 1) {
		if (pid <= 0 || descends_from((pid_t)pid, init))
			continue;
		if (kill((pid_t)pid, SIGKILL) == 0)
			killed++;
	}
	return killed;
}
