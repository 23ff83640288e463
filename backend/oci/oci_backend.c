/* The embedded default: an OCI runtime (runc, or crun) from Debian, driven
 * with a generated config.json through a detached shim (oci_shim.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
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
#include "../exit_file.h"
#include "../bottle.h"
#include "../cleanup.h"
#include "../copy_tree.h"
#include "../exec_session.h"
#include "../guest_process.h"
#include "../idmap.h"
#include "../netns_listen.h"
#include "../nsexec.h"
#include "../image_view.h"
#include "../proc_ident.h"
#include "../seccomp_policy.h"
#include "../shim.h"
#include "../spawn.h"
#include "oci_config.h"
#include "oci_rootfs.h"
#include "oci_run.h"
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

static int oci_preflight(char *about, size_t len, struct bf_error *err)
{
	char path[PATH_MAX];
	const char *name;

	(void)about;
	(void)len;
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
	if (m->kernel)
		return bf_error_set(err, EINVAL, "kernel is for microvm bottles (an oci guest runs on the host's kernel)");
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

/* Frees what the runtime keeps for a container; a missing one is fine. */
static void runtime_delete(const struct bf_run *run, const struct bf_paths *p, int log_fd)
{
	char runtime[PATH_MAX];
	const char *name;

	if (find_runtime(runtime, sizeof(runtime), &name) == 0 && oci_run_const(run)->container_id[0]) {
		char *argv[] = { runtime, "--root", (char *)p->runtime_root, "delete", "--force",
				 (char *)oci_run_const(run)->container_id, NULL };

		bf_spawn_wait(argv, log_fd);
	}
}

/* Derived from the identity: the same for every start of a bottle. */
static void container_id_of(const struct bf_bottle *b, char *out, size_t len)
{
	snprintf(out, len, "bottlefs-%s", b->meta.identity);
}

/* What makes the shim and the guest provably ours later: start times,
 * the shim's executable, the guest's user namespace. A guest that ended
 * already leaves zeros, which nothing trusts. */
static void record_identity(struct bf_run *run)
{
	struct bf_proc_ident guest;

	bf_shim_ident_record(&oci_run(run)->shim);
	if (bf_proc_ident_read(run->pid, &guest) == 0 && guest.ppid == oci_run_const(run)->shim.pid) {
		run->guest_start = guest.start;
		run->guest_userns = guest.userns;
	}
}

static int oci_start(const struct bf_bottle *b, const struct bf_paths *p, struct bf_run *run,
		     struct bf_error *err)
{
	char runtime[PATH_MAX], pidfile[PATH_MAX], exitfile[PATH_MAX], line[128];
	char workspace[PATH_MAX + 64] = "-", log_max[24];
	const char *runtime_name;
	struct bf_guest_user user;
	cleanup_close int log_fd = -1;
	int report[2] = { -1, -1 };
	long guest = 0, shim = 0;
	pid_t pid;
	int r, status;

	if (find_runtime(runtime, sizeof(runtime), &runtime_name) < 0)
		return oci_preflight(NULL, 0, err);
	if (mkdir(p->runtime_root, 0700) < 0 && errno != EEXIST)
		return bf_error_set(err, errno, "mkdir %s: %s", p->runtime_root, strerror(errno));
	r = bf_oci_prepare(b, p->run_dir, &user, err);
	if (r == 0)
		r = bf_oci_write_config(b, p->run_dir, &user, err);
	if (r < 0)
		return r;
	memset(run, 0, sizeof(*run));
	container_id_of(b, oci_run(run)->container_id, sizeof(oci_run(run)->container_id));
	strlcpy(oci_run(run)->runtime, runtime_name, sizeof(oci_run(run)->runtime));
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

		snprintf(stale, sizeof(stale), "%s/%s", p->runtime_root, oci_run_const(run)->container_id);
		if (stat(stale, &st) == 0)
			runtime_delete(run, p, log_fd);
	}
	if (pipe2(report, O_CLOEXEC) < 0)
		return bf_error_set(err, errno, "pipe: %s", strerror(errno));
	if (user.ws_idmap)
		snprintf(workspace, sizeof(workspace), "%u:%u:%llu:%llu:%s", (unsigned)user.ws_uid,
			 (unsigned)user.ws_gid, user.id_base + user.uid, user.id_base + user.gid,
			 b->manifest.workspace_path);
	snprintf(log_max, sizeof(log_max), "%lld", p->log_max);
	{
		char *argv[] = { BF_OCI_SHIM_NAME, runtime, (char *)p->runtime_root,
				 (char *)p->run_dir, oci_run(run)->container_id, pidfile, exitfile, workspace,
				 log_max, NULL };

		char shim_exe[PATH_MAX];

		/* Its own small program: the daemon's executable loads 38
		 * libraries (4 ms of each start); this one loads libc. */
		if (bf_libexec_path(BF_OCI_SHIM_NAME, shim_exe, sizeof(shim_exe)) < 0)
			strlcpy(shim_exe, "/proc/self/exe", sizeof(shim_exe));
		pid = bf_spawn_exe(shim_exe, argv, -1, log_fd, log_fd, report[1]);
	}
	close(report[1]);
	if (pid < 0) {
		close(report[0]);
		return bf_error_set(err, -pid, "cannot run the shim: %s", strerror(-pid));
	}
	r = bf_shim_read_report(report[0], line, sizeof(line));
	close(report[0]);
	if (r < 0 || sscanf(line, "running %ld %ld", &guest, &shim) != 2) {
		long code = -1;

		waitpid(pid, &status, 0);   /* the shim ends after a failure */
		sscanf(line, "failed %ld", &code);
		runtime_delete(run, p, log_fd);
		if (code == -4)
			return bf_error_set(err, EIO, "the workspace or home could not be mounted: see log");
		return bf_error_set(err, EIO, "%s run failed (exit %ld): see log", runtime_name, code);
	}
	run->pid = (pid_t)guest;
	run->guest_uid = user.uid;
	run->guest_gid = user.gid;
	run->id_offset = b->meta.id_base;
	run->gid_offset = b->meta.id_base;
	run->id_count = BF_IDS_PER_BOTTLE;
	oci_run(run)->shim.pid = (pid_t)shim;
	run->started_at = time(NULL);
	run->workspace_idmapped = user.ws_idmap;
	run->workspace_uid = user.ws_uid;
	run->workspace_gid = user.ws_gid;
	record_identity(run);
	return 0;
}

static int verify_shim(const struct bf_run *run, struct bf_error *err)
{
	return bf_shim_ident_verify(&oci_run_const(run)->shim, err);
}

static int oci_watch(const struct bf_run *run, struct bf_error *err)
{
	int fd, r;

	if (oci_run_const(run)->shim.pid <= 0)
		return bf_error_set(err, ESRCH, "no shim recorded");
	fd = pidfd_open(oci_run_const(run)->shim.pid, 0);
	if (fd < 0)
		return bf_error_set(err, errno == ESRCH ? ESRCH : errno, "shim %d: %s",
				    (int)oci_run_const(run)->shim.pid, strerror(errno));
	/* Checked after opening: the pidfd pins the identity we verified. */
	r = verify_shim(run, err);
	if (r == 0) {
		/* A guest that just ended is fine (the shim reports it);
		 * one that is someone else is not. */
		cleanup_close int guest = pidfd_open(run->pid, 0);

		if (guest >= 0)
			r = bf_guest_process_verify(run, oci_run_const(run)->shim.pid, err);
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int oci_signal(const struct bf_run *run, int sig, struct bf_error *err)
{
	return bf_guest_process_signal(run, oci_run_const(run)->shim.pid, sig, err);
}

static int oci_collect(const struct bf_paths *p, struct bf_run *run, struct bf_error *err)
{
	char exitfile[PATH_MAX];
	cleanup_close int log_fd = open(p->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	(void)err;
	/* The shim may be our child (started by this daemon): reap it. One
	 * started by an earlier daemon is init's to reap. */
	if (oci_run_const(run)->shim.pid > 0)
		waitpid(oci_run_const(run)->shim.pid, NULL, WNOHANG);
	run_file(p, "exit", exitfile, sizeof(exitfile));
	run->stopped_at = time(NULL);
	bf_exit_file_read(exitfile, run);
	runtime_delete(run, p, log_fd);
	return 0;
}

/* Running: the copy in the shim's mount namespace (work.img at workfs/),
 * reached through /proc while a pidfd proves the pid is still the shim.
 * Stopped: work.img mounted read-only by itself. Bottles from before
 * work.img keep a plain directory, work/. */
static int oci_workspace_view(const struct bf_run *run, const struct bf_paths *p, int *out,
			      struct bf_error *err)
{
	char path[PATH_MAX + 64];
	cleanup_close int pidfd = -1;
	struct stat st;
	int fd, r;

	snprintf(path, sizeof(path), "%s/work", p->run_dir);
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return bf_error_set(err, errno, "%s: %s", path, strerror(errno));
		*out = fd;
		return 0;
	}
	if (!run) {
		snprintf(path, sizeof(path), "%s/work.img", p->run_dir);
		return bf_image_view_open(path, "work", out, err);
	}
	pidfd = pidfd_open(oci_run_const(run)->shim.pid, 0);
	if (pidfd < 0)
		return bf_error_set(err, ESRCH, "shim %d is gone", (int)oci_run_const(run)->shim.pid);
	r = verify_shim(run, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/root%s/workfs/work", (int)oci_run_const(run)->shim.pid, p->run_dir);
	fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bf_error_set(err, errno, "the running copy: %s", strerror(errno));
	if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0) {
		close(fd);
		return bf_error_set(err, ESRCH, "shim %d ended while its copy was opened",
				    (int)oci_run_const(run)->shim.pid);
	}
	*out = fd;
	return 0;
}

static int oci_kill_strays(const struct bf_run *run)
{
	return bf_guest_process_kill_strays(run, oci_run_const(run)->shim.pid);
}

static int oci_destroy(const struct bf_bottle *b, const struct bf_paths *p, struct bf_error *err)
{
	struct bf_run run = { 0 };

	/* By the id derived from the identity, not the record: a start that
	 * died half-way left a container the record does not know. */
	container_id_of(b, oci_run(&run)->container_id, sizeof(oci_run(&run)->container_id));
	runtime_delete(&run, p, -1);
	return bf_remove_tree(p->run_dir, err);
}

/* Containers in the runtime's state (STATE/runtime) whose bottle is gone:
 * ours are named bottlefs-IDENTITY. */
static int oci_orphans(const char *state_dir, char *const *known, size_t n_known,
		       void (*emit)(void *ctx, const char *type, const char *id, const char *what),
		       void *ctx, struct bf_error *err)
{
	char dir[PATH_MAX], what[PATH_MAX + 128];
	cleanup_closedir DIR *d = NULL;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/runtime", state_dir);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : bf_error_set(err, errno, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		bool mine = false;

		if (strncmp(e->d_name, "bottlefs-", 9) != 0)
			continue;
		for (size_t i = 0; i < n_known && !mine; i++)
			mine = strcmp(e->d_name + 9, known[i]) == 0;
		if (mine)
			continue;
		snprintf(what, sizeof(what), "a runc container in %s whose bottle is gone: runc delete --force",
			 dir);
		emit(ctx, "runc-container", e->d_name, what);
	}
	return 0;
}

static int oci_remove_orphan(const char *state_dir, const char *type, const char *id,
			     struct bf_error *err)
{
	char runtime[PATH_MAX], root[PATH_MAX];
	const char *name;
	int status;

	if (strcmp(type, "runc-container") != 0 || strchr(id, '/'))
		return bf_error_set(err, EINVAL, "not an oci orphan: %s %s", type, id);
	if (find_runtime(runtime, sizeof(runtime), &name) < 0)
		return bf_error_set(err, ENOENT, "no OCI runtime to remove %s", id);
	snprintf(root, sizeof(root), "%s/runtime", state_dir);
	{
		char *argv[] = { runtime, "--root", root, "delete", "--force", (char *)id, NULL };

		status = bf_spawn_wait(argv, -1);
	}
	if (status != 0)
		return bf_error_set(err, EIO, "%s delete --force %s failed (status %d)", name, id, status);
	return 0;
}

static const struct bf_helper_entry oci_helpers[] = {
	{ BF_OCI_SHIM_NAME, bf_oci_shim_main },
	{ NULL, NULL },
};

const struct bf_backend bf_backend_oci = {
	.name = "oci",
	.helpers = oci_helpers,
	.preflight = oci_preflight,
	.check_manifest = oci_check_manifest,
	.guest_sidecar_host = oci_guest_sidecar_host,
	.start = oci_start,
	.signal = oci_signal,
	.watch = oci_watch,
	.collect = oci_collect,
	.run_save = bf_oci_run_save,
	.run_load = bf_oci_run_load,
	.run_render = bf_oci_run_render,
	.run_describe = bf_oci_run_describe,
	.exec = bf_guest_process_exec,
	.workspace_view = oci_workspace_view,
	.kill_strays = oci_kill_strays,
	.sidecar_listen = bf_guest_process_sidecar_listen,
	.orphans = oci_orphans,
	.remove_orphan = oci_remove_orphan,
	.destroy = oci_destroy,
};
