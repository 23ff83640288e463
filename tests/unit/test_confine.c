/* The pure parts of confinement: /proc/PID/stat parsing (re-attach), the
 * syscall filter (loaded for real in a child), and the id range check. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../backend/guest_caps.h"
#include "../../backend/guest_process.h"
#include "../../backend/host_mounts.h"
#include "../../backend/idmap.h"
#include "../../backend/proc_ident.h"
#include "../../backend/seccomp_policy.h"
#include "cunit_main.h"

static void test_stat_parse(void)
{
	pid_t ppid = 0;
	unsigned long long start = 0;

	/* A comm with spaces and a ')' of its own cannot shift the fields. */
	CU_ASSERT_EQUAL(bf_proc_stat_parse("42 (evil) 1 2 3) S 7 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 "
					   "20 0 1 0 123456 1000 10 18446744073709551615",
					   &ppid, &start), 0);
	CU_ASSERT_EQUAL(ppid, 7);
	CU_ASSERT_EQUAL(start, 123456);
	CU_ASSERT_EQUAL(bf_proc_stat_parse("42 (x) S 7", &ppid, &start), -EINVAL);
	CU_ASSERT_EQUAL(bf_proc_stat_parse("no parens", &ppid, &start), -EINVAL);
}

static void test_ident_of_self(void)
{
	struct bf_proc_ident me, child;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(bf_proc_ident_read(getpid(), &me), 0);
	CU_ASSERT_EQUAL(me.ppid, getppid());
	CU_ASSERT(me.start > 0);
	CU_ASSERT(me.userns > 0);
	CU_ASSERT(me.exe_ino > 0);
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	CU_ASSERT_EQUAL(bf_proc_ident_read(pid, &child), 0);
	CU_ASSERT_EQUAL(child.ppid, getpid());
	CU_ASSERT(child.start >= me.start);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CU_ASSERT_EQUAL(bf_proc_ident_read(pid, &child), -ESRCH);
}

static void test_status_holds_signal(void)
{
	/* SIGTERM (15) is bit 14: 0x4000. */
	static const char term_caught[] = "Name:\tinit\nSigQ:\t0/1\nSigPnd:\t0000000000000000\n"
					  "SigBlk:\t0000000000000000\nSigIgn:\t0000000000004000\n"
					  "SigCgt:\t0000000000004000\n";
	static const char term_blocked[] = "Name:\tinit\nSigBlk:\tfffffffe7ffbfeff\nSigCgt:\t0\n";
	static const char term_ignored[] = "Name:\tinit\nSigBlk:\t0000000000000000\n"
					   "SigIgn:\t0000000000004000\nSigCgt:\t0000000000000001\n";

	CU_ASSERT_EQUAL(bf_proc_status_holds_signal(term_caught, SIGTERM), 1);
	CU_ASSERT_EQUAL(bf_proc_status_holds_signal(term_caught, SIGHUP), 0);
	CU_ASSERT_EQUAL(bf_proc_status_holds_signal(term_blocked, SIGTERM), 1);
	CU_ASSERT_EQUAL(bf_proc_status_holds_signal(term_ignored, SIGTERM), 0);
	CU_ASSERT_EQUAL(bf_proc_status_holds_signal(term_ignored, SIGHUP), 1);
	CU_ASSERT_EQUAL(bf_proc_status_holds_signal("Name:\tx\nSigBlk:\t0\n", SIGTERM), -EINVAL);
	CU_ASSERT_EQUAL(bf_proc_status_holds_signal("Name:\tx\nSigBlk:\tzz\nSigCgt:\t0\n", SIGTERM), -EINVAL);
	CU_ASSERT_EQUAL(bf_proc_status_holds_signal(term_caught, 0), -EINVAL);
	CU_ASSERT_EQUAL(bf_proc_status_holds_signal(term_caught, 65), -EINVAL);
	CU_ASSERT_TRUE(bf_proc_status_named(term_caught, "init"));
	CU_ASSERT_FALSE(bf_proc_status_named(term_caught, "ini"));
	CU_ASSERT_FALSE(bf_proc_status_named(term_caught, "init2"));
	CU_ASSERT_FALSE(bf_proc_status_named("Nome:\tinit\n", "init"));
	{
		char text[4096];

		CU_ASSERT_EQUAL_FATAL(bf_proc_status_read(getpid(), text, sizeof(text)), 0);
		CU_ASSERT_EQUAL(bf_proc_status_holds_signal(text, SIGKILL), 0);
		CU_ASSERT_EQUAL(bf_proc_status_read(-1, text, sizeof(text)), -ESRCH);
	}
}

static void exit_on_term(int sig)
{
	(void)sig;
	_exit(42);
}

static void swallow(int sig)
{
	(void)sig;
}

static void sleep_ms(int ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* A PID 1 of its own namespace in the moments after a start, then a
 * bottlefs-init that exits 42 on SIGTERM. First, for `late_ms`: with
 * `runtime` the runtime's init (another name, catching SIGTERM and doing
 * nothing with it), else a PID 1 leaving SIGTERM at its default (the
 * kernel drops it). Then 50 ms with SIGTERM at its default, as after the
 * exec of bottlefs-init. Returns the forker's pid (it exits with PID 1's
 * status) and PID 1's host pid in *init. */
static pid_t spawn_late_init(int late_ms, bool runtime, pid_t *init)
{
	int fds[2];
	pid_t forker;

	if (pipe(fds) < 0)
		return -1;
	forker = fork();
	if (forker == 0) {
		pid_t pid;
		int status;

		close(fds[0]);
		if (unshare(CLONE_NEWPID) < 0)
			_exit(100);
		pid = fork();
		if (pid == 0) {
			sigset_t all;

			if (runtime) {
				prctl(PR_SET_NAME, "runc:[2:INIT]");
				signal(SIGTERM, swallow);
			}
			sleep_ms(late_ms);
			signal(SIGTERM, SIG_DFL);
			sleep_ms(50);
			prctl(PR_SET_NAME, BF_GUEST_INIT_NAME);
			sigfillset(&all);
			sigprocmask(SIG_SETMASK, &all, NULL);
			signal(SIGTERM, exit_on_term);
			sigemptyset(&all);
			sigprocmask(SIG_SETMASK, &all, NULL);
			for (;;)
				pause();
		}
		if (write(fds[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(101);
		waitpid(pid, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 102);
	}
	close(fds[1]);
	if (forker < 0 || read(fds[0], init, sizeof(*init)) != sizeof(*init)) {
		close(fds[0]);
		return -1;
	}
	close(fds[0]);
	return forker;
}

/* Exit code of `pid` within `ms`, or -1 (then killed). */
static int exit_within(pid_t pid, pid_t init, int ms)
{
	int status, i;

	for (i = 0; i < ms; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
		usleep(1000);
	}
	kill(init, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* A stop right after a start: the signal waits for bottlefs-init to
 * take it rather than being dropped by the kernel, whether PID 1 is
 * still one that drops it or the runtime's init that is about to exec. */
static void signal_late_init(bool runtime)
{
	struct bf_proc_ident id;
	struct bf_error err = { 0 };
	struct bf_run run = { 0 };
	pid_t init = 0, forker = spawn_late_init(300, runtime, &init);

	CU_ASSERT_FATAL(forker > 0);
	CU_ASSERT_FATAL(bf_proc_ident_read(init, &id) == 0);
	run.pid = init;
	run.guest_start = id.start;
	run.guest_userns = id.userns;
	CU_ASSERT_EQUAL(bf_guest_process_signal(&run, 0, SIGTERM, &err), 0);
	CU_ASSERT_EQUAL(exit_within(forker, init, 3000), 42);
}

static void test_signal_waits_for_init(void)
{
	signal_late_init(false);
}

static void test_signal_waits_past_runtime_init(void)
{
	signal_late_init(true);
}

/* Runs `probe` in a child under the filter; returns its exit code. */
static int under_filter(const struct bf_seccomp_prog *p, int (*probe)(void))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || bf_seccomp_apply(p) < 0)
			_exit(100);
		_exit(probe());
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

static int errno_of(long r)
{
	return r < 0 ? errno : 0;
}

static int probe_keyctl(void) { return errno_of(syscall(SYS_keyctl, 0, -4, 0)); }
static int probe_io_uring(void) { return errno_of(syscall(SYS_io_uring_setup, 1, NULL)); }
static int probe_userns(void) { return errno_of(syscall(SYS_unshare, 0x10000000)); }
static int probe_unshare_fs(void) { return errno_of(syscall(SYS_unshare, 0x200 /* CLONE_FS */)); }
static int probe_vsock(void) { return errno_of(socket(40, SOCK_STREAM, 0)); }
static int probe_inet(void) { return errno_of(socket(AF_INET, SOCK_STREAM, 0)); }
static int probe_netlink_audit(void) { return errno_of(socket(AF_NETLINK, SOCK_RAW, 9)); }
static int probe_clone3(void) { return errno_of(syscall(SYS_clone3, NULL, 0)); }
static int probe_getpid(void) { return errno_of(syscall(SYS_getpid)); }

static int probe_setuid_bits(void)
{
	char path[] = "/tmp/bottlefs-seccomp-XXXXXX";
	int fd = mkstemp(path), e1, e2, e3;

	if (fd < 0)
		return 99;
	e1 = errno_of(fchmod(fd, 04755));
	e2 = errno_of(chmod(path, 02755));
	e3 = errno_of(chmod(path, 0755));
	unlink(path);
	close(fd);
	/* setuid and setgid refused, plain modes fine */
	return e1 == EPERM && e2 == EPERM && e3 == 0 ? 0 : 1;
}

static void test_filter_refuses(void)
{
	struct bf_seccomp_prog p;
	struct bf_error err = { 0 };

	CU_ASSERT_EQUAL_FATAL(bf_seccomp_build(NULL, 0, &p, &err), 0);
	CU_ASSERT(p.prog.len > 100);
	CU_ASSERT_EQUAL(under_filter(&p, probe_keyctl), EPERM);
	CU_ASSERT_EQUAL(under_filter(&p, probe_io_uring), EPERM);
	CU_ASSERT_EQUAL(under_filter(&p, probe_userns), EPERM);
	CU_ASSERT_EQUAL(under_filter(&p, probe_vsock), EPERM);
	CU_ASSERT_EQUAL(under_filter(&p, probe_netlink_audit), EPERM);
	CU_ASSERT_EQUAL(under_filter(&p, probe_clone3), ENOSYS);
	CU_ASSERT_EQUAL(under_filter(&p, probe_setuid_bits), 0);
	CU_ASSERT_EQUAL(under_filter(&p, probe_inet), 0);
	CU_ASSERT_EQUAL(under_filter(&p, probe_unshare_fs), 0);
	CU_ASSERT_EQUAL(under_filter(&p, probe_getpid), 0);
	bf_seccomp_free(&p);
}

static void test_filter_relaxed(void)
{
	char *relax[] = { "keyctl", "io_uring_setup" };
	struct bf_seccomp_prog p;
	struct bf_error err = { 0 };
	int r;

	CU_ASSERT_EQUAL_FATAL(bf_seccomp_build(relax, 2, &p, &err), 0);
	/* Reached the kernel: any answer but the filter's EPERM. */
	r = under_filter(&p, probe_keyctl);
	CU_ASSERT(r != EPERM);
	r = under_filter(&p, probe_io_uring);
	CU_ASSERT(r != EPERM);
	CU_ASSERT_EQUAL(under_filter(&p, probe_userns), EPERM);
	bf_seccomp_free(&p);
	CU_ASSERT(bf_seccomp_known("keyctl"));
	CU_ASSERT(!bf_seccomp_known("no_such_call"));
}

static void test_filter_render(void)
{
	char *relax[] = { "keyctl" };
	struct bf_buf out = { 0 };

	bf_seccomp_render(relax, 1, &out);
	CU_ASSERT_EQUAL_FATAL(bf_buf_finish(&out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "default_action = \"errno EPERM\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "\"io_uring_setup\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "relaxed = [\"keyctl\"]\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "\"socket: AF_NETLINK with NETLINK_ROUTE\""));
	/* a relaxed call is no longer listed as denied */
	{
		char *denied = strstr(out.data, "\ndenied = "), *end;

		CU_ASSERT_PTR_NOT_NULL_FATAL(denied);
		end = strchr(denied + 1, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(end);
		*end = '\0';
		CU_ASSERT_PTR_NOT_NULL(strstr(denied, "\"add_key\""));
		CU_ASSERT_PTR_NULL(strstr(denied, "\"keyctl\""));
	}
	bf_buf_free(&out);
}

static void test_caps_mask(void)
{
	CU_ASSERT_EQUAL(bf_guest_root_cap_mask(), 0x5fbULL);
	CU_ASSERT_EQUAL(bf_guest_root_caps_len, 9);
}

static void test_idrange_accounts(void)
{
	char path[] = "/tmp/bottlefs-passwd-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "root::0:0::/root:/bin/sh\nbig:x:1073807360:1::/:/bin/sh\n";

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	CU_ASSERT(bf_idrange_free_of_accounts(path, 65536, 65536));
	CU_ASSERT(!bf_idrange_free_of_accounts(path, 0, 10));
	CU_ASSERT(!bf_idrange_free_of_accounts(path, 1073741824, 2 * 65536));
	CU_ASSERT(bf_idrange_free_of_accounts(path, 1073741824, 65536));
	CU_ASSERT(bf_idrange_free_of_accounts("/nonexistent/passwd", 0, 10));
	unlink(path);
}

static void test_idmap_root_line(void)
{
	struct bf_idmap_line l = { 0 };

	CU_ASSERT(bf_idmap_parse_root("         0     231072      65536\n", &l));
	CU_ASSERT_EQUAL(l.outside, 231072);
	CU_ASSERT_EQUAL(l.count, 65536);
	CU_ASSERT(bf_idmap_parse_root("1000 1000 1\n0 100000 1000\n", &l));
	CU_ASSERT_EQUAL(l.outside, 100000);
	CU_ASSERT_EQUAL(l.count, 1000);
	CU_ASSERT(!bf_idmap_parse_root("1000 1000 1\n", &l));
	CU_ASSERT(!bf_idmap_parse_root("0 5 0\n", &l));
	CU_ASSERT(!bf_idmap_parse_root("", &l));
	CU_ASSERT(!bf_idmap_parse_root("garbage", &l));
	/* The host's own namespace maps everything. */
	CU_ASSERT_EQUAL(bf_idmap_read_root(getpid(), "uid_map", &l), 0);
	CU_ASSERT_EQUAL(l.outside, 0);
	CU_ASSERT_EQUAL(bf_idmap_read_root(-5, "uid_map", &l), -ENOENT);
}

static void test_mount_sources(void)
{
	char dir[] = "/tmp/bottlefs-state-XXXXXX", run[256], sub[300], real[4096];
	struct bf_manifest m = { 0 };
	struct bf_mount mounts[1] = { 0 };
	struct bf_error err = { 0 };

	CU_ASSERT(bf_path_within("/a/b", "/a"));
	CU_ASSERT(bf_path_within("/a", "/a"));
	CU_ASSERT(bf_path_within("/anything", "/"));
	CU_ASSERT(!bf_path_within("/ab", "/a"));
	CU_ASSERT(!bf_path_within("/a", "/a/b"));
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(run, sizeof(run), "%s/run/box", dir);
	CU_ASSERT(bf_state_dir_of(run, real));
	CU_ASSERT_STRING_EQUAL(real, dir);
	m.mounts = mounts;
	m.mounts_len = 1;
	/* The state dir itself, a directory in it, and one holding it. */
	snprintf(sub, sizeof(sub), "%s/run", dir);
	CU_ASSERT_EQUAL(mkdir(sub, 0700), 0);
	const char *bad[] = { dir, sub, "/tmp" };
	for (size_t i = 0; i < 3; i++) {
		m.mounts[0].source = (char *)bad[i];
		CU_ASSERT_EQUAL(bf_check_mount_sources(&m, run, &err), -EPERM);
	}
	m.mounts[0].source = "/usr/bin";
	CU_ASSERT_EQUAL(bf_check_mount_sources(&m, run, &err), 0);
	rmdir(sub);
	rmdir(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "stat parse", test_stat_parse },
		{ "ident of self and child", test_ident_of_self },
		{ "status: signal held", test_status_holds_signal },
		{ "signal waits for a late init", test_signal_waits_for_init },
		{ "signal waits past the runtime's init", test_signal_waits_past_runtime_init },
		{ "filter refuses", test_filter_refuses },
		{ "filter relaxed", test_filter_relaxed },
		{ "filter render", test_filter_render },
		{ "root caps mask", test_caps_mask },
		{ "id range vs accounts", test_idrange_accounts },
		{ "mount sources vs state dir", test_mount_sources },
		{ "id map root line", test_idmap_root_line },
		{ NULL, NULL },
	};

	return run_unit_tests("confine", tests);
}
