/* Starting and stopping bottles, and the watcher thread each running
 * bottle gets: it waits for the guest to end and records how it ended.
 * Slow work (the runtime, signals, waiting) happens without the registry
 * lock; a bottle in starting/running/stopping cannot be changed or removed,
 * which is what keeps it alive meanwhile. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bsd/string.h>

#include "ctl_msg.h"
#include "registry_internal.h"

#define KILL_WAIT_SECONDS 10

struct watcher {
	struct bf_registry *reg;
	struct bf_bottle *bottle;
	int fd;
	struct bf_run reattached;       /* at re-attach: the run, to end strays */
	bool has_reattached;
};

static bool busy(enum bf_state s)
{
	return s == BF_STATE_STARTING || s == BF_STATE_RUNNING || s == BF_STATE_STOPPING;
}

static void describe_exit(const struct bf_run *run, char *out, size_t len)
{
	if (run->exit_signal)
		snprintf(out, len, "killed by signal %d (%s)", run->exit_signal,
			 strsignal(run->exit_signal));
	else if (run->exit_code >= 0)
		snprintf(out, len, "exited %d", run->exit_code);
	else
		snprintf(out, len, "ended (%s)", run->reason);
}

/* Called with the lock held once the guest is gone. */
static void finish_locked(struct bf_registry *reg, struct bf_bottle *b, const struct bf_run *run)
{
	char how[300];
	bool clean = run->exit_signal == 0 && run->exit_code == 0;

	bf_registry_egress_stop_locked(b);
	b->meta.run = *run;
	describe_exit(run, how, sizeof(how));
	b->meta.state = b->stop_requested || clean ? BF_STATE_STOPPED : BF_STATE_FAILED;
	if (b->meta.state == BF_STATE_FAILED && !b->meta.run.reason[0])
		strlcpy(b->meta.run.reason, how, sizeof(b->meta.run.reason));
	b->stop_requested = false;
	bf_registry_save_locked(reg, b);
	bf_registry_log_event(reg, b->name, "%s: %s", bf_state_name(b->meta.state), how);
	/* An end whose status nobody could learn (an engine gone) is news. */
	if (run->exit_code < 0 && !run->exit_signal && run->reason[0])
		bf_registry_report(reg, b->name, "the guest %s", how);
	pthread_cond_broadcast(&reg->changed);
}

static void *watch_guest(void *arg)
{
	struct watcher *w = arg;
	struct bf_registry *reg = w->reg;
	struct bf_bottle *b = w->bottle;
	struct pollfd fds[2] = { { w->fd, POLLIN, 0 }, { reg->shutdown_fd, POLLIN, 0 } };
	struct bf_error err = { 0 };
	struct bf_paths paths;
	struct bf_run run;
	char name[BF_NAME_MAX + 1];

	/* Off the registry lock: what an earlier daemon's sessions left. */
	if (w->has_reattached && b->backend->kill_strays) {
		int n = b->backend->kill_strays(&w->reattached);

		if (n > 0)
			bf_registry_log_event(reg, b->name,
					      "re-attach: ended %d process(es) of exec sessions of the previous mount", n);
	}
	while (poll(fds, 2, -1) < 0 && errno == EINTR)
		;
	close(w->fd);
	pthread_mutex_lock(&reg->lock);
	if (fds[1].revents) {
		/* Unmounting: the guest runs on; the next mount re-attaches. */
		goto out;
	}
	run = b->meta.run;
	bf_registry_paths(reg, b->name, &paths);
	pthread_mutex_unlock(&reg->lock);
	b->backend->collect(&paths, &run, &err);
	pthread_mutex_lock(&reg->lock);
	finish_locked(reg, b, &run);
	strlcpy(name, b->name, sizeof(name));
	pthread_mutex_unlock(&reg->lock);
	/* Before this watcher counts as gone: unmounting waits for it. */
	bf_registry_flush_save(reg, name);
	pthread_mutex_lock(&reg->lock);
out:
	reg->watchers--;
	pthread_cond_broadcast(&reg->changed);
	pthread_mutex_unlock(&reg->lock);
	free(w);
	return NULL;
}

/* Starts the watcher of a running bottle on `fd`, what the backend's
 * watch gave (taken over); lock held. */
static int watch_locked(struct bf_registry *reg, struct bf_bottle *b, int fd, bool reattach,
			struct bf_error *err)
{
	struct watcher *w;
	pthread_attr_t attr;
	pthread_t thread;

	w = malloc(sizeof(*w));
	if (!w) {
		close(fd);
		return bf_error_set(err, ENOMEM, "out of memory");
	}
	*w = (struct watcher){ reg, b, fd, b->meta.run, reattach };
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&thread, &attr, watch_guest, w) != 0) {
		pthread_attr_destroy(&attr);
		close(fd);
		free(w);
		return bf_error_set(err, EAGAIN, "cannot start a watcher thread");
	}
	pthread_attr_destroy(&attr);
	reg->watchers++;
	return 0;
}

static int do_start(struct bf_registry *reg, struct bf_bottle *b, struct bf_error *err)
{
	struct bf_paths paths;
	struct bf_run run;
	struct bf_sidecars sidecars = { .n = 0 };
	char what[160];
	int r, watch_fd = -1;

	if (busy(b->meta.state))
		return bf_error_set(err, EBUSY, "bottle is %s", bf_state_name(b->meta.state));
	if (!b->backend->start)
		return bf_error_set(err, ENOTSUP, "the %s backend cannot run bottles in this version",
				    b->backend->name);
	/* Nothing of the last run applies to this one: a crash mid-start must
	 * not have re-attach watch an old shim. */
	memset(&b->meta.run, 0, sizeof(b->meta.run));
	b->meta.state = BF_STATE_STARTING;
	bf_registry_changed_locked(reg, b->name);
	bf_registry_workspace_view_drop_locked(b);
	b->stop_requested = false;
	/* Not saved: a record written now would know no shim to re-attach
	 * to. If the daemon dies mid-start, the next start (or rmdir) removes
	 * the half-started container by its id. */
	bf_registry_paths(reg, b->name, &paths);
	pthread_mutex_unlock(&reg->lock);
	bf_registry_log_event(reg, b->name, "starting (%s backend)", b->backend->name);
	r = b->backend->start(b, &paths, &run, err);
	/* Still without the lock: the backend's look at its guest, and its
	 * sidecar listeners. A guest that ended at once is collected. */
	if (r == 0) {
		watch_fd = b->backend->watch(&run, err);
		if (watch_fd >= 0) {
			bf_sidecars_open(b, &run, &paths, &sidecars);
		} else {
			struct bf_error ignored = { 0 };

			b->backend->collect(&paths, &run, &ignored);
		}
	}
	pthread_mutex_lock(&reg->lock);
	if (r < 0) {
		b->meta.state = BF_STATE_FAILED;
		strlcpy(b->meta.run.reason, err->msg, sizeof(b->meta.run.reason));
		bf_registry_save_locked(reg, b);
		bf_registry_log_event(reg, b->name, "start failed: %s", err->msg);
		pthread_cond_broadcast(&reg->changed);
		return r;
	}
	b->meta.run = run;
	b->meta.run.launched = true;
	b->meta.state = BF_STATE_RUNNING;
	bf_registry_save_locked(reg, b);
	bf_run_describe(b->backend, &run, what, sizeof(what));
	bf_registry_log_event(reg, b->name, "running: %s, pid %d", what, (int)run.pid);
	if (watch_fd >= 0) {
		bf_registry_egress_start_locked(reg, b, &sidecars);
		r = watch_locked(reg, b, watch_fd, false, err);
	} else {
		r = watch_fd;
	}
	if (r < 0) {
		/* It ended before we could watch it (collected above). */
		finish_locked(reg, b, &run);
		if (r == -ESRCH)
			r = 0;
	}
	pthread_cond_broadcast(&reg->changed);
	return r;
}

/* Waits until the bottle leaves `stopping` or the deadline passes. */
static bool wait_stopped_locked(struct bf_registry *reg, struct bf_bottle *b, long seconds)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += seconds;
	while (b->meta.state == BF_STATE_STOPPING)
		if (pthread_cond_timedwait(&reg->changed, &reg->lock, &deadline) == ETIMEDOUT)
			return b->meta.state != BF_STATE_STOPPING;
	return true;
}

static int do_stop(struct bf_registry *reg, struct bf_bottle *b, struct bf_error *err)
{
	struct bf_run run;

	if (b->meta.state == BF_STATE_STOPPING)
		return bf_error_set(err, EBUSY, "bottle is already stopping");
	if (b->meta.state == BF_STATE_STARTING)
		return bf_error_set(err, EBUSY, "bottle is starting");
	if (b->meta.state != BF_STATE_RUNNING)
		return 0;   /* stopping a stopped bottle is done already */
	b->meta.state = BF_STATE_STOPPING;
	bf_registry_changed_locked(reg, b->name);
	b->stop_requested = true;
	run = b->meta.run;
	bf_registry_log_event(reg, b->name, "stopping: SIGTERM, SIGKILL after %llds",
			      b->stop_timeout);
	pthread_cond_broadcast(&reg->changed);
	pthread_mutex_unlock(&reg->lock);
	b->backend->signal(&run, SIGTERM, NULL);
	pthread_mutex_lock(&reg->lock);
	if (wait_stopped_locked(reg, b, b->stop_timeout))
		return 0;
	pthread_mutex_unlock(&reg->lock);
	b->backend->signal(&run, SIGKILL, NULL);
	pthread_mutex_lock(&reg->lock);
	if (wait_stopped_locked(reg, b, KILL_WAIT_SECONDS))
		return 0;
	return bf_error_set(err, ETIMEDOUT, "the guest did not end %ds after SIGKILL", KILL_WAIT_SECONDS);
}

static int do_kill(struct bf_registry *reg, struct bf_bottle *b, int argc, char **argv,
		   struct bf_error *err)
{
	struct bf_run run;
	int sig = SIGKILL, r;

	if (argc == 2) {
		sig = bf_signal_parse(argv[1]);
		if (sig < 0)
			return bf_error_set(err, EINVAL, "unknown signal \"%s\"", argv[1]);
	}
	if (b->meta.state != BF_STATE_RUNNING && b->meta.state != BF_STATE_STOPPING)
		return bf_error_set(err, ESRCH, "bottle is %s, not running", bf_state_name(b->meta.state));
	run = b->meta.run;
	pthread_mutex_unlock(&reg->lock);
	bf_registry_log_event(reg, b->name, "kill: signal %d (%s)", sig, strsignal(sig));
	r = b->backend->signal(&run, sig, err);
	pthread_mutex_lock(&reg->lock);
	return r;
}

static int ctl_start(struct bf_registry *reg, struct bf_bottle *b, int argc, char **argv,
		     struct bf_error *err)
{
	(void)argc;
	(void)argv;
	return do_start(reg, b, err);
}

static int ctl_stop(struct bf_registry *reg, struct bf_bottle *b, int argc, char **argv,
		    struct bf_error *err)
{
	(void)argc;
	(void)argv;
	return do_stop(reg, b, err);
}

static int ctl_restart(struct bf_registry *reg, struct bf_bottle *b, int argc, char **argv,
		       struct bf_error *err)
{
	int r = do_stop(reg, b, err);

	(void)argc;
	(void)argv;
	return r < 0 ? r : do_start(reg, b, err);
}

/* The control messages, after Plan 9's ctl tables: name, arguments. */
static const struct bf_ctl_cmd ctl_table[] = {
	{ "start", 0, 0 }, { "stop", 0, 0 }, { "restart", 0, 0 }, { "kill", 0, 1 },
};

static int (*const ctl_run[])(struct bf_registry *, struct bf_bottle *, int, char **,
			      struct bf_error *) = {
	ctl_start, ctl_stop, ctl_restart, do_kill,
};

int bf_registry_ctl(struct bf_registry *reg, const char *name, const char *msg, size_t len,
		    struct bf_error *err)
{
	struct bf_ctl_msg m;
	struct bf_bottle *b;
	int r;

	r = bf_ctl_parse(msg, len, ctl_table, sizeof(ctl_table) / sizeof(ctl_table[0]),
			 "start, stop, restart, kill [SIGNAL]", &m, err);
	if (r < 0) {
		bf_registry_report(reg, name, "ctl: %s", err->msg);
		return r;
	}
	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	r = b ? ctl_run[m.cmd](reg, b, m.argc, m.words, err)
	      : bf_error_set(err, ENOENT, "no bottle \"%s\"", name);
	pthread_mutex_unlock(&reg->lock);
	/* A start or stop returns once its record is on disk. */
	bf_registry_flush_save(reg, name);
	if (r < 0)
		bf_registry_report(reg, name, "ctl %s: %s", ctl_table[m.cmd].name, err->msg);
	return r;
}

/* At mount, before the tree is served (FUSE init); watchers started for
 * earlier bottles may already take the lock. The backend is asked about
 * each guest without the lock held. */
void bf_lifecycle_reattach(struct bf_registry *reg)
{
	size_t i;

	pthread_mutex_lock(&reg->lock);
	for (i = 0; i < reg->count; i++) {
		struct bf_bottle *b = reg->bottles[i];
		const struct bf_backend *backend = b->backend;
		struct bf_error err = { 0 };
		struct bf_sidecars sidecars = { .n = 0 };
		struct bf_paths paths;
		struct bf_run run;
		char what[160];
		int fd = -1;

		if (!busy(b->meta.state))
			continue;
		run = b->meta.run;
		bf_registry_paths(reg, b->name, &paths);
		bf_run_describe(backend, &run, what, sizeof(what));
		pthread_mutex_unlock(&reg->lock);
		if (backend->watch)
			fd = backend->watch(&run, &err);
		else
			bf_error_set(&err, ENOTSUP, "the %s backend cannot watch guests", backend->name);
		if (fd >= 0)
			bf_sidecars_open(b, &run, &paths, &sidecars);
		/* Gone while unmounted, or a pid now held by another process:
		 * collect what is known about its end, exec nothing into it. */
		if (fd < 0 && backend->collect) {
			struct bf_error ignored = { 0 };

			backend->collect(&paths, &run, &ignored);
		}
		pthread_mutex_lock(&reg->lock);
		if (fd >= 0 && watch_locked(reg, b, fd, true, &err) == 0) {
			b->meta.state = BF_STATE_RUNNING;
			bf_registry_save_locked(reg, b);
			bf_registry_log_event(reg, b->name, "re-attached to %s (pid %d)", what,
					      (int)b->meta.run.pid);
			bf_registry_egress_start_locked(reg, b, &sidecars);
			continue;
		}
		bf_sidecars_close(&sidecars);
		if (err.msg[0])
			bf_registry_report(reg, b->name, "not re-attached: %s", err.msg);
		if (run.exit_code < 0 && !run.exit_signal) {
			snprintf(run.reason, sizeof(run.reason),
				 "%s vanished while bottlefs was not mounted", what);
			bf_registry_report(reg, b->name, "%s", run.reason);
		}
		finish_locked(reg, b, &run);
	}
	pthread_mutex_unlock(&reg->lock);
	bf_registry_flush_all_saves(reg);
}

void bf_lifecycle_shutdown(struct bf_registry *reg)
{
	uint64_t one = 1;

	if (reg->shutdown_fd < 0)
		return;
	if (write(reg->shutdown_fd, &one, sizeof(one)) < 0)
		return;
	pthread_mutex_lock(&reg->lock);
	while (reg->watchers)
		pthread_cond_wait(&reg->changed, &reg->lock);
	pthread_mutex_unlock(&reg->lock);
}
