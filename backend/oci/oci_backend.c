/* The embedded default: an OCI runtime (runc, or crun) from Debian, driven
 * with a generated config.json through a detached shim (oci_shim.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bsd/string.h>

#include "../backends.h"
#include "../bottle.h"
#include "../cleanup.h"
#include "../copy_tree.h"
#include "../exec_session.h"
#include "../netns_listen.h"
#include "../spawn.h"
#include "oci_config.h"
#include "oci_rootfs.h"
#include "oci_shim.h"

/* runc first: on hybrid cgroup hosts crun refuses to run. */
static const char *const runtimes[] = { "runc", "crun", NULL };

static int find_runtime(char *path, size_t len, const char **name)
{
	size_t i;

	for (i = 0; runtimes[i]; i++) {
		if (bf_find_program(runtimes[i], path, len) == 0) {
			*name = runtimes[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int oci_preflight(struct bf_error *err)
{
	char path[PATH_MAX];
	const char *name;

	if (find_runtime(path, sizeof(path), &name) == 0)
		return 0;
	return bf_error_set(err, ENOENT, "no OCI runtime: neither runc nor crun is installed (apt-get install runc)");
}

static int oci_check_manifest(const struct bf_manifest *m, struct bf_error *err)
{
	if (strcmp(m->image, "host") != 0 && m->image[0] != '/')
		return bf_error_set(err, EINVAL,
				    "oci image must be \"host\" or an absolute path to a root filesystem, not \"%s\"",
				    m->image);
	return 0;
}

/* The guest's own network namespace holds the sidecar listeners. */
static const char *oci_guest_sidecar_host(const char *proxy_ip)
{
	(void)proxy_ip;
	return "127.0.0.1";
}

static void run_file(const struct bf_paths *p, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", p->run_dir, name);
}

/* Reads the shim's one-line report; the shim writes it once runc is done. */
static int read_report(int fd, char *line, size_t len)
{
	size_t got = 0;

	while (got + 1 < len) {
		ssize_t n = read(fd, line + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = '\0';
	return got ? 0 : -EPIPE;
}

/* Frees what the runtime keeps for a container; a missing one is fine. */
static void runtime_delete(const struct bf_run *run, const struct bf_paths *p, int log_fd)
{
	char runtime[PATH_MAX];
	const char *name;

	if (find_runtime(runtime, sizeof(runtime), &name) == 0 && run->container_id[0]) {
		char *argv[] = { runtime, "--root", (char *)p->runtime_root, "delete", "--force",
				 (char *)run->container_id, NULL };

		bf_spawn_wait(argv, log_fd);
	}
}

/* Derived from the identity: the same for every start of a bottle. */
static void container_id_of(const struct bf_bottle *b, char *out, size_t len)
{
	snprintf(out, len, "bottlefs-%s", b->meta.identity);
}

static int oci_start(const struct bf_bottle *b, const struct bf_paths *p, struct bf_run *run,
		     struct bf_error *err)
{
	char runtime[PATH_MAX], pidfile[PATH_MAX], exitfile[PATH_MAX], line[128];
	const char *runtime_name;
	struct bf_guest_user user;
	cleanup_close int log_fd = -1;
	int report[2] = { -1, -1 };
	long guest = 0, shim = 0;
	pid_t pid;
	int r, status;

	if (find_runtime(runtime, sizeof(runtime), &runtime_name) < 0)
		return oci_preflight(err);
	if (mkdir(p->runtime_root, 0700) < 0 && errno != EEXIST)
		return bf_error_set(err, errno, "mkdir %s: %s", p->runtime_root, strerror(errno));
	r = bf_oci_prepare(b, p->run_dir, &user, err);
	if (r == 0)
		r = bf_oci_write_config(b, p->run_dir, &user, err);
	if (r < 0)
		return r;
	memset(run, 0, sizeof(*run));
	container_id_of(b, run->container_id, sizeof(run->container_id));
	strlcpy(run->runtime, runtime_name, sizeof(run->runtime));
	run_file(p, "pid", pidfile, sizeof(pidfile));
	run_file(p, "exit", exitfile, sizeof(exitfile));
	unlink(pidfile);
	unlink(exitfile);
	log_fd = open(p->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return bf_error_set(err, errno, "open %s: %s", p->log, strerror(errno));
	/* A leftover container of the same id (a crash mid-start) is stale;
	 * asking the runtime costs a run of it, so look for its state first. */
	{
		char stale[PATH_MAX];
		struct stat st;

		snprintf(stale, sizeof(stale), "%s/%s", p->runtime_root, run->container_id);
		if (stat(stale, &st) == 0)
			runtime_delete(run, p, log_fd);
	}
	if (pipe2(report, O_CLOEXEC) < 0)
		return bf_error_set(err, errno, "pipe: %s", strerror(errno));
	{
		char *argv[] = { BF_OCI_SHIM_NAME, runtime, (char *)p->runtime_root,
				 (char *)p->run_dir, run->container_id, pidfile, exitfile, NULL };

		pid = bf_spawn_exe("/proc/self/exe", argv, -1, log_fd, log_fd, report[1]);
	}
	close(report[1]);
	if (pid < 0) {
		close(report[0]);
		return bf_error_set(err, -pid, "cannot run the shim: %s", strerror(-pid));
	}
	r = read_report(report[0], line, sizeof(line));
	close(report[0]);
	if (r < 0 || sscanf(line, "running %ld %ld", &guest, &shim) != 2) {
		long code = -1;

		waitpid(pid, &status, 0);   /* the shim ends after a failure */
		sscanf(line, "failed %ld", &code);
		runtime_delete(run, p, log_fd);
		return bf_error_set(err, EIO, "%s run failed (exit %ld): see log", runtime_name, code);
	}
	run->pid = (pid_t)guest;
	run->guest_uid = user.uid;
	run->guest_gid = user.gid;
	run->monitor_pid = (pid_t)shim;
	run->started_at = time(NULL);
	return 0;
}

/* A pid is only ours if /proc says it is our shim for this container:
 * after a reboot or a long unmount the number may belong to another. */
static bool is_our_shim(const struct bf_run *run)
{
	char path[64], cmdline[4096];
	cleanup_close int fd = -1;
	ssize_t n, i;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)run->monitor_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, cmdline, sizeof(cmdline) - 1);
	if (n <= 0)
		return false;
	cmdline[n] = '\0';
	if (strcmp(cmdline, BF_OCI_SHIM_NAME) != 0)
		return false;
	for (i = 0; i < n; i++)
		if (cmdline[i] == '\0' && strcmp(cmdline + i + 1, run->container_id) == 0)
			return true;
	return false;
}

static int oci_watch(const struct bf_run *run, struct bf_error *err)
{
	int fd;

	if (run->monitor_pid <= 0)
		return bf_error_set(err, ESRCH, "no shim recorded");
	fd = pidfd_open(run->monitor_pid, 0);
	if (fd < 0)
		return bf_error_set(err, errno == ESRCH ? ESRCH : errno, "shim %d: %s",
				    (int)run->monitor_pid, strerror(errno));
	/* Checked after opening: the pidfd pins the identity we verified. */
	if (!is_our_shim(run)) {
		close(fd);
		return bf_error_set(err, ESRCH, "shim %d is gone", (int)run->monitor_pid);
	}
	return fd;
}

static int oci_signal(const struct bf_run *run, int sig, struct bf_error *err)
{
	cleanup_close int fd = pidfd_open(run->pid, 0);

	if (fd < 0 || pidfd_send_signal(fd, sig, NULL, 0) < 0)
		return bf_error_set(err, errno, "signal %d to pid %d: %s", sig, (int)run->pid,
				    strerror(errno));
	return 0;
}

static int oci_collect(const struct bf_paths *p, struct bf_run *run, struct bf_error *err)
{
	char exitfile[PATH_MAX], line[64] = "";
	cleanup_close int log_fd = open(p->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	FILE *f;
	int v = 0;

	(void)err;
	run_file(p, "exit", exitfile, sizeof(exitfile));
	f = fopen(exitfile, "re");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	run->stopped_at = time(NULL);
	run->exit_code = -1;
	run->exit_signal = 0;
	/* The shim's record: "exited N" or "killed SIG". */
	if (sscanf(line, "exited %d", &v) == 1)
		run->exit_code = v;
	else if (sscanf(line, "killed %d", &v) == 1)
		run->exit_signal = v;
	else
		strlcpy(run->reason, "the guest's exit status was not recorded", sizeof(run->reason));
	runtime_delete(run, p, log_fd);
	return 0;
}

/* The guest has loopback only: its sidecars listen inside its netns. */
static int oci_sidecar_listen(const struct bf_run *run, int port, struct bf_error *err)
{
	return bf_netns_listen(run->pid, port, err);
}

/* Joins the guest's namespaces and cgroups directly: see nsexec.h. */
static int oci_exec(const struct bf_bottle *b, struct bf_exec_session *s, const char *cmd,
		    struct bf_error *err)
{
	const struct bf_nsexec how = {
		.target = b->meta.run.pid,
		.cmd = cmd,
		.env = b->env,
		.workdir = b->manifest.workdir,
		.uid = b->meta.run.guest_uid,
		.gid = b->meta.run.guest_gid,
	};

	return bf_exec_start(s, &how, err);
}

static int oci_destroy(const struct bf_bottle *b, const struct bf_paths *p, struct bf_error *err)
{
	struct bf_run run = { 0 };

	/* By the id derived from the identity, not the record: a start that
	 * died half-way left a container the record does not know. */
	container_id_of(b, run.container_id, sizeof(run.container_id));
	runtime_delete(&run, p, -1);
	return bf_remove_tree(p->run_dir, err);
}

const struct bf_backend bf_backend_oci = {
	.name = "oci",
	.preflight = oci_preflight,
	.check_manifest = oci_check_manifest,
	.guest_sidecar_host = oci_guest_sidecar_host,
	.start = oci_start,
	.signal = oci_signal,
	.watch = oci_watch,
	.collect = oci_collect,
	.exec = oci_exec,
	.sidecar_listen = oci_sidecar_listen,
	.destroy = oci_destroy,
};
