/* NAME/workspace/: the host's read-only view of a copy workspace, so that
 * what the agent changed can be seen and taken back (bottlefs(8)). The
 * backend says where the copy is; a stopped copy's read-only mount is
 * kept for the next look and let go of before the next start. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "registry_internal.h"

bool bf_registry_has_workspace_view(struct bf_registry *reg, const char *name)
{
	struct bf_bottle *b;
	bool has;

	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	has = b && b->manifest.workspace_mode == BF_WORKSPACE_COPY && b->backend->workspace_view;
	pthread_mutex_unlock(&reg->lock);
	return has;
}

void bf_registry_workspace_view_drop_locked(struct bf_bottle *b)
{
	if (b->view_open)
		close(b->view_fd);
	b->view_open = false;
}

static bool guest_runs(enum bf_state state)
{
	return state == BF_STATE_RUNNING || state == BF_STATE_STOPPING;
}

int bf_registry_workspace_view(struct bf_registry *reg, const char *name, int *fd,
			       struct bf_error *err)
{
	const struct bf_backend *backend;
	struct bf_paths paths;
	struct bf_bottle *b;
	struct bf_run run;
	bool running;
	int r;

	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	if (!b || b->manifest.workspace_mode != BF_WORKSPACE_COPY || !b->backend->workspace_view) {
		pthread_mutex_unlock(&reg->lock);
		return bf_error_set(err, ENOENT, "no copy workspace");
	}
	if (b->meta.state == BF_STATE_STARTING) {
		/* The copy is being mounted for the guest: nothing to show. */
		pthread_mutex_unlock(&reg->lock);
		return bf_error_set(err, ENOENT, "the bottle is starting");
	}
	running = guest_runs(b->meta.state);
	if (!running && b->view_open) {
		*fd = fcntl(b->view_fd, F_DUPFD_CLOEXEC, 0);
		pthread_mutex_unlock(&reg->lock);
		return *fd < 0 ? bf_error_set(err, errno, "dup: %s", strerror(errno)) : 0;
	}
	backend = b->backend;
	run = b->meta.run;
	bf_registry_paths(reg, name, &paths);
	pthread_mutex_unlock(&reg->lock);

	/* Outside the lock: a mount, or a look into the shim's namespace. */
	r = backend->workspace_view(running ? &run : NULL, &paths, fd, err);
	if (r < 0 && r != -ENOENT)
		bf_registry_report(reg, name, "workspace: %s", err->msg);
	if (r < 0 || running)
		return r;
	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	/* Kept only while the bottle still stands still: a start drops it. */
	if (b && !b->view_open && !guest_runs(b->meta.state) && b->meta.state != BF_STATE_STARTING) {
		b->view_fd = fcntl(*fd, F_DUPFD_CLOEXEC, 0);
		b->view_open = b->view_fd >= 0;
	}
	pthread_mutex_unlock(&reg->lock);
	return 0;
}
