/* The registry's insides, shared by registry.c (bottles and their files)
 * and lifecycle.c (start, stop, the watchers). */
#ifndef BOTTLEFS_REGISTRY_INTERNAL_H
#define BOTTLEFS_REGISTRY_INTERNAL_H

#include <pthread.h>

#include "bottle.h"
#include "egress_proxy.h"
#include "errors_log.h"
#include "registry.h"
#include "state_store.h"

#define BF_SAVE_STRIPES 16

struct bf_registry {
	pthread_mutex_t lock;   /* guards bottles[] and each bottle */
	/* A bottle's record is written without `lock`, under the stripe
	 * its name hashes to (taken before `lock`, never inside it), so
	 * that writes of one name never overlap and the last is newest. */
	pthread_mutex_t save_locks[BF_SAVE_STRIPES];
	pthread_cond_t changed; /* a bottle's state changed; watchers ended */
	struct bf_config cfg;
	struct bf_store store;
	struct bf_errors_log errors;
	struct bf_bottle **bottles;     /* sorted by name */
	size_t count, capacity;
	int shutdown_fd;        /* eventfd: watchers leave when it fires */
	unsigned watchers;      /* running watcher threads */
	bf_change_hook change_hook;
	void *change_ctx;
};

struct bf_bottle *bf_registry_find_locked(struct bf_registry *reg, const char *name);
void bf_registry_paths(const struct bf_registry *reg, const char *name, struct bf_paths *p);
/* Says a bottle changed and makes its record, to be written by
 * bf_registry_flush_save once the lock is released: a disk write (two
 * fsyncs) must not hold up every other bottle. */
void bf_registry_save_locked(struct bf_registry *reg, struct bf_bottle *b);
/* Without the lock: writes NAME's record if one waits (failures go to
 * `errors`). Returns once the newest record made so far is on disk. */
void bf_registry_flush_save(struct bf_registry *reg, const char *name);
/* The same for every bottle with a record waiting. */
void bf_registry_flush_all_saves(struct bf_registry *reg);
/* The stripe of bf_registry's save_locks that NAME's writes take. */
pthread_mutex_t *bf_registry_save_lock(struct bf_registry *reg, const char *name);
/* What a bottle's files say changed (its state, manifest, allowlist), or
 * the bottle came or went. */
void bf_registry_changed_locked(struct bf_registry *reg, const char *name);
/* Appends a lifecycle event to a bottle's log. */
void bf_registry_log_event(struct bf_registry *reg, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* registry_exec.c: takes a bottle's sessions away (under the lock), then
 * kills and frees them (without it: a kill waits for the command). */
void bf_registry_exec_take_all_locked(struct bf_bottle *b, struct bf_exec_session ***sessions,
				      size_t *n);
void bf_registry_exec_kill_all(struct bf_exec_session **sessions, size_t n);

/* registry_egress.c */
/* The guest's sidecar listeners (egress, and git-gate and supervise when
 * the manifest asks), opened by the backend without the lock; then the
 * proxy is started on them with it (which takes them over). */
struct bf_sidecars {
	struct bf_sidecar_listener l[3];
	size_t n;
	bool failed;
	struct bf_error err;
	struct bf_error git_err;        /* the git-gate could not open */
};
void bf_sidecars_open(const struct bf_bottle *b, const struct bf_run *run,
		      const struct bf_paths *paths, struct bf_sidecars *out);
void bf_sidecars_close(struct bf_sidecars *s);
void bf_registry_egress_start_locked(struct bf_registry *reg, struct bf_bottle *b,
				     struct bf_sidecars *sc);
void bf_registry_egress_stop_locked(struct bf_bottle *b);
void bf_registry_allow_reset_locked(struct bf_registry *reg, struct bf_bottle *b);
void bf_registry_allow_load_locked(struct bf_registry *reg, struct bf_bottle *b);
int bf_registry_render_allow_locked(const struct bf_bottle *b, struct bf_buf *out);
/* A bottle's queue, referenced (bf_waitq_unref), or NULL when it has
 * none (yet). registry_queues.c. */
struct bf_waitq *bf_registry_queue_ref(struct bf_registry *reg, const char *name,
				       enum bf_queue which);
/* The live allowlist, or the manifest's while none was written. */
void bf_registry_rules_of_locked(const struct bf_bottle *b, char *const **rules, size_t *n);

/* registry_workspace.c: lets go of a stopped copy's read-only mount
 * (before a start: the guest mounts it read-write). */
void bf_registry_workspace_view_drop_locked(struct bf_bottle *b);

/* lifecycle.c */
/* Re-attaches to the bottles the state says are running (at open). */
void bf_lifecycle_reattach(struct bf_registry *reg);
/* Stops the watchers (at close); the guests keep running. */
void bf_lifecycle_shutdown(struct bf_registry *reg);

#endif
