#include "seccomp_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include "quote.h"

/* Allowed with any arguments: Docker's default set for an unprivileged
 * container, less io_uring (Docker dropped it too), userfaultfd and the
 * calls kept apart below. Calls this libseccomp does not know are
 * skipped (they fall to the default action). */
static const char *const allowed[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk",
	"cachestat", "capget", "capset", "chdir", "chown", "clock_adjtime", "clock_getres",
	"clock_gettime", "clock_nanosleep", "close", "close_range", "connect",
	"copy_file_range", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2",
	"execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
	"fallocate", "fanotify_mark", "fchdir", "fchown", "fchownat", "fcntl", "fdatasync",
	"fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
	"fstatfs", "fsync", "ftruncate", "futex", "futex_waitv", "futimesat", "getcpu",
	"getcwd", "getdents", "getdents64", "getegid", "geteuid", "getgid", "getgroups",
	"getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
	"getpriority", "getrandom", "getresgid", "getresuid", "getrlimit", "get_robust_list",
	"getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday",
	"getuid", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
	"inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
	"io_pgetevents", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "kill",
	"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
	"lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr",
	"lseek", "lsetxattr", "lstat", "madvise", "map_shadow_stack", "membarrier",
	"memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mlock", "mlock2",
	"mlockall", "mmap", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
	"mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap", "msgctl", "msgget",
	"msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at",
	"nanosleep", "newfstatat", "pause", "pidfd_open", "pidfd_send_signal", "pipe",
	"pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "prctl",
	"pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "process_vm_readv",
	"process_vm_writev", "pselect6", "ptrace", "pwrite64", "pwritev", "pwritev2", "read",
	"readahead", "readlink", "readlinkat", "readv", "recvfrom", "recvmmsg", "recvmsg",
	"remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
	"restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
	"rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
	"sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity", "sched_setattr",
	"sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
	"semget", "semop", "semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto",
	"setfsgid", "setfsuid", "setgid", "setgroups", "setitimer", "setpgid", "setpriority",
	"setregid", "setresgid", "setresuid", "setreuid", "setrlimit", "set_robust_list",
	"setsid", "setsockopt", "set_tid_address", "setuid", "setxattr", "shmat", "shmctl",
	"shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "splice",
	"stat", "statfs", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
	"syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
	"timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create",
	"timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate", "umask",
	"uname", "unlink", "unlinkat", "utime", "utimensat", "utimes", "vfork", "vmsplice",
	"wait4", "waitid", "write", "writev",
};

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
		  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | 0x80 /* CLONE_NEWTIME */)
#define SET_ID_BITS (S_ISUID | S_ISGID)

/* Allowed only when every comparison holds; several entries for one
 * call are alternatives. */
static const struct conditional {
	const char *name;
	const char *when;
	unsigned n;
	struct scmp_arg_cmp cmp[2];
} conditional[] = {
	{ "clone", "no CLONE_NEW* flag", 1, { SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0) } },
	{ "unshare", "no CLONE_NEW* flag", 1, { SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0) } },
	{ "socket", "AF_UNIX", 1, { SCMP_A0(SCMP_CMP_EQ, AF_UNIX) } },
	{ "socket", "AF_INET", 1, { SCMP_A0(SCMP_CMP_EQ, AF_INET) } },
	{ "socket", "AF_INET6", 1, { SCMP_A0(SCMP_CMP_EQ, AF_INET6) } },
	{ "socket", "AF_NETLINK with NETLINK_ROUTE", 2,
	  { SCMP_A0(SCMP_CMP_EQ, AF_NETLINK), SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE) } },
	{ "socketpair", "AF_UNIX", 1, { SCMP_A0(SCMP_CMP_EQ, AF_UNIX) } },
	{ "personality", "PER_LINUX", 1, { SCMP_A0(SCMP_CMP_EQ, 0) } },
	{ "personality", "PER_LINUX|UNAME26", 1, { SCMP_A0(SCMP_CMP_EQ, 0x0020000) } },
	{ "personality", "PER_LINUX32", 1, { SCMP_A0(SCMP_CMP_EQ, 0x0008) } },
	{ "personality", "PER_LINUX32|UNAME26", 1, { SCMP_A0(SCMP_CMP_EQ, 0x0020008) } },
	{ "personality", "query", 1, { SCMP_A0(SCMP_CMP_EQ, 0xffffffff) } },
	{ "chmod", "no setuid/setgid bit", 1, { SCMP_A1(SCMP_CMP_MASKED_EQ, SET_ID_BITS, 0) } },
	{ "fchmod", "no setuid/setgid bit", 1, { SCMP_A1(SCMP_CMP_MASKED_EQ, SET_ID_BITS, 0) } },
	{ "fchmodat", "no setuid/setgid bit", 1, { SCMP_A2(SCMP_CMP_MASKED_EQ, SET_ID_BITS, 0) } },
	{ "creat", "no setuid/setgid bit", 1, { SCMP_A1(SCMP_CMP_MASKED_EQ, SET_ID_BITS, 0) } },
	{ "open", "no setuid/setgid bit", 1, { SCMP_A2(SCMP_CMP_MASKED_EQ, SET_ID_BITS, 0) } },
	{ "openat", "no setuid/setgid bit", 1, { SCMP_A3(SCMP_CMP_MASKED_EQ, SET_ID_BITS, 0) } },
	{ "mknod", "no setuid/setgid bit", 1, { SCMP_A1(SCMP_CMP_MASKED_EQ, SET_ID_BITS, 0) } },
	{ "mknodat", "no setuid/setgid bit", 1, { SCMP_A2(SCMP_CMP_MASKED_EQ, SET_ID_BITS, 0) } },
};

/* Refused with ENOSYS, so that libc falls back to a call whose arguments
 * the filter can see (the struct-argument forms hide them). */
static const char *const enosys[] = { "clone3", "openat2", "fchmodat2" };

/* Named in plan.toml and bottlefs(8) as refused (EPERM, like everything
 * not allowed above): the host kernel state a guest must never reach. */
static const char *const denied_named[] = {
	"add_key", "keyctl", "request_key", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "bpf", "perf_event_open", "userfaultfd", "setns", "mount",
	"umount2", "pivot_root", "chroot", "open_by_handle_at", "open_tree", "move_mount",
	"fsopen", "fsmount", "fspick", "mount_setattr", "kexec_load", "init_module",
	"finit_module", "delete_module", "acct", "swapon", "reboot",
	"sethostname", "setdomainname", "syslog", "quotactl", "iopl", "ioperm",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

bool bf_seccomp_known(const char *name)
{
	return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

static bool relaxed(const char *name, char *const *relax, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(relax[i], name) == 0)
			return true;
	return false;
}

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
	       const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

static int make_filter(char *const *relax, size_t n_relax, scmp_filter_ctx *out,
		       struct bf_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	size_t i;
	int r = 0;

	if (!ctx)
		return bf_error_set(err, ENOMEM, "seccomp: cannot allocate a filter");
	/* Another architecture's calls (int 0x80) never reach the allowlist. */
	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (i = 0; r == 0 && i < N(allowed); i++)
		r = add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
	for (i = 0; r == 0 && i < n_relax; i++)
		if (!relaxed(relax[i], relax, i))   /* once each */
			r = add(ctx, SCMP_ACT_ALLOW, relax[i], 0, NULL);
	for (i = 0; r == 0 && i < N(conditional); i++)
		if (!relaxed(conditional[i].name, relax, n_relax))
			r = add(ctx, SCMP_ACT_ALLOW, conditional[i].name, conditional[i].n,
				conditional[i].cmp);
	for (i = 0; r == 0 && i < N(enosys); i++)
		if (!relaxed(enosys[i], relax, n_relax))
			r = add(ctx, SCMP_ACT_ERRNO(ENOSYS), enosys[i], 0, NULL);
	if (r < 0) {
		seccomp_release(ctx);
		return bf_error_set(err, -r, "seccomp: building the filter: %s", strerror(-r));
	}
	*out = ctx;
	return 0;
}

int bf_seccomp_build(char *const *relax, size_t n_relax, struct bf_seccomp_prog *out,
		     struct bf_error *err)
{
	scmp_filter_ctx ctx;
	struct stat st;
	int fd, r;

	memset(out, 0, sizeof(*out));
	r = make_filter(relax, n_relax, &ctx, err);
	if (r < 0)
		return r;
	/* libseccomp 2.5 exports to an fd only. */
	fd = memfd_create("bottlefs-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		r = bf_error_set(err, errno, "seccomp: memfd: %s", strerror(errno));
		goto out;
	}
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(struct sock_filter) != 0) {
		r = bf_error_set(err, r < 0 ? -r : EIO, "seccomp: exporting the filter failed");
		goto out;
	}
	out->prog.filter = malloc((size_t)st.st_size);
	out->prog.len = (unsigned short)((size_t)st.st_size / sizeof(struct sock_filter));
	if (!out->prog.filter ||
	    pread(fd, out->prog.filter, (size_t)st.st_size, 0) != (ssize_t)st.st_size) {
		bf_seccomp_free(out);
		r = bf_error_set(err, ENOMEM, "seccomp: reading the exported filter failed");
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return r;
}

void bf_seccomp_free(struct bf_seccomp_prog *p)
{
	free(p->prog.filter);
	p->prog.filter = NULL;
	p->prog.len = 0;
}

int bf_seccomp_apply(const struct bf_seccomp_prog *p)
{
	if (!p->prog.filter)
		return -EINVAL;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p->prog, 0, 0) < 0)
		return -errno;
	return 0;
}

int bf_seccomp_load(char *const *relax, size_t n_relax, struct bf_error *err)
{
	scmp_filter_ctx ctx;
	int r = make_filter(relax, n_relax, &ctx, err);

	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r < 0 ? bf_error_set(err, -r, "seccomp: loading the filter: %s", strerror(-r)) : 0;
}

static void toml_list(struct bf_buf *out, const char *key, const char *const *v, size_t n,
		      char *const *relax, size_t n_relax)
{
	size_t i;
	bool first = true;

	bf_buf_printf(out, "%s = [", key);
	for (i = 0; i < n; i++) {
		if (relaxed(v[i], relax, n_relax) || (i && strcmp(v[i], v[i - 1]) == 0))
			continue;
		bf_buf_puts(out, first ? "" : ", ");
		bf_quote_toml(out, v[i], strlen(v[i]));
		first = false;
	}
	bf_buf_puts(out, "]\n");
}

void bf_seccomp_render(char *const *relax, size_t n_relax, struct bf_buf *out)
{
	size_t i;
	bool first = true;

	bf_buf_puts(out, "default_action = \"errno EPERM\"\n");
	toml_list(out, "allowed", allowed, N(allowed), NULL, 0);
	bf_buf_puts(out, "allowed_if = [");
	for (i = 0; i < N(conditional); i++) {
		char text[160];

		if (relaxed(conditional[i].name, relax, n_relax))
			continue;
		snprintf(text, sizeof(text), "%s: %s", conditional[i].name, conditional[i].when);
		bf_buf_puts(out, first ? "" : ", ");
		bf_quote_toml(out, text, strlen(text));
		first = false;
	}
	bf_buf_puts(out, "]\n");
	toml_list(out, "enosys", enosys, N(enosys), relax, n_relax);
	toml_list(out, "denied", denied_named, N(denied_named), relax, n_relax);
	toml_list(out, "relaxed", (const char *const *)relax, n_relax, NULL, 0);
}
