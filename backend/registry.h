/* All bottles of one mount: the operations the FUSE layer performs on
 * them. Thread-safe; every failure is also written to `errors`. */
#ifndef BOTTLEFS_REGISTRY_H
#define BOTTLEFS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "access_as.h"
#include "buf.h"
#include "error.h"

struct bf_config {
	char state_dir[1024];
	char backend[16];       /* default for manifests without `backend` */
	long long stop_timeout; /* default for manifests without stop_timeout */
	unsigned long long id_base; /* first host id of the range bottles' guests get */
	unsigned id_slots;      /* bottles of BF_IDS_PER_BOTTLE ids in that range */
	long long log_max;      /* bytes of log and egress before they rotate */
	char vm_kernel[1024];   /* the microvm guest kernel's directory, "" for the default */
};


enum bf_file {
	BF_FILE_MANIFEST,
	BF_FILE_PLAN,
	BF_FILE_ENV,
	BF_FILE_NETWORK,
	BF_FILE_STATUS,
	BF_FILE_CTL,            /* reading ctl: the state word */
	BF_FILE_LOG,            /* a real file: see bf_registry_file_path */
	BF_FILE_ALLOW,          /* the live egress allowlist */
	BF_FILE_EGRESS,         /* a real file: see bf_registry_file_path */
	BF_FILE_GIT_LOG,        /* NAME/git/log: a real file */
	BF_FILE_GIT_REFS,       /* NAME/git/refs: a real file */
	BF_FILE_REQUESTS_LOG,   /* MNT/requests.log (no bottle): a real file */
};

struct bf_registry;

/* Loads every bottle from the state dir; records that cannot be read are
 * reported in `errors` and skipped. */
int bf_registry_open(const struct bf_config *cfg, struct bf_registry **out,
		     struct bf_error *err);
/* Re-attaches to the bottles still running and starts their watcher
 * threads: call it in the process that serves the mount (after the daemon
 * has forked away from the terminal; threads do not survive a fork). */
void bf_registry_start(struct bf_registry *reg);
/* Called (under the registry lock: it may only take note) whenever what a
 * bottle's generated files say may have changed, and when a bottle
 * appears or goes: the FUSE layer then tells the kernel to drop what it
 * cached of them. */
typedef void (*bf_change_hook)(void *ctx, const char *name);
void bf_registry_set_change_hook(struct bf_registry *reg, bf_change_hook hook, void *ctx);
void bf_registry_close(struct bf_registry *reg);

int bf_registry_create(struct bf_registry *reg, const char *name, const char *text,
		       size_t len, const struct bf_caller *who, struct bf_error *err);
/* Re-plans from a new manifest; the old plan stays on error. */
int bf_registry_update(struct bf_registry *reg, const char *name, const char *text,
		       size_t len, const struct bf_caller *who, struct bf_error *err);
int bf_registry_remove(struct bf_registry *reg, const char *name, struct bf_error *err);

bool bf_registry_exists(struct bf_registry *reg, const char *name);
/* A NULL-terminated copy of the names, sorted; free with bf_strv_free. */
int bf_registry_names(struct bf_registry *reg, char ***names);
void bf_strv_free(char **v);

/* Renders one generated file of a bottle; -ENOENT if there is none. */
int bf_registry_render(struct bf_registry *reg, const char *name, enum bf_file file,
		       struct bf_buf *out);
/* Runs one control message written to NAME/ctl: start, stop, restart,
 * kill [SIGNAL]. Blocks until done (start: running; stop: stopped). */
int bf_registry_ctl(struct bf_registry *reg, const char *name, const char *msg, size_t len,
		    struct bf_error *err);
/* Replaces a bottle's live egress allowlist with the rules in `text`
 * (one a line, # comments); refused whole if any rule is invalid. */
int bf_registry_allow_set(struct bf_registry *reg, const char *name, const char *text, size_t len,
			  struct bf_error *err);
/* Checks the complete lines of an allowlist being written, so that a bad
 * rule fails the write(2) that brings it (reported in `errors`). */
int bf_registry_allow_check(struct bf_registry *reg, const char *name, const char *text,
			    size_t len, struct bf_error *err);
/* Where a bottle's BF_FILE_LOG or BF_FILE_EGRESS lives: real files that
 * the FUSE layer serves as they are. */
int bf_registry_file_path(struct bf_registry *reg, const char *name, enum bf_file file,
			  char *out, size_t len);

/* exec/ sessions (registry_exec.c). Sessions come back referenced:
 * release them with bf_exec_unref. */
struct bf_exec_session;
int bf_registry_exec_create(struct bf_registry *reg, const char *name, const char *session,
			    struct bf_error *err);
int bf_registry_exec_remove(struct bf_registry *reg, const char *name, const char *session,
			    struct bf_error *err);
int bf_registry_exec_names(struct bf_registry *reg, const char *name, char ***names);
struct bf_exec_session *bf_registry_exec_get(struct bf_registry *reg, const char *name,
					     const char *session);
int bf_registry_exec_start(struct bf_registry *reg, const char *name, struct bf_exec_session *s,
			   const char *cmd, size_t len, struct bf_error *err);
/* A control message written to a session's ctl: kill [SIGNAL]. */
int bf_registry_exec_ctl(struct bf_registry *reg, const char *name, struct bf_exec_session *s,
			 const char *msg, size_t len, struct bf_error *err);
/* An unlisted session for the one-shot form (exec/run). */
struct bf_exec_session *bf_registry_exec_oneshot(struct bf_registry *reg, const char *name,
						 struct bf_error *err);

int bf_registry_render_errors(struct bf_registry *reg, struct bf_buf *out);
int bf_registry_render_backends(struct bf_registry *reg, struct bf_buf *out);

/* Adds a line to `errors`; `who` is a bottle name or NULL. */
void bf_registry_report(struct bf_registry *reg, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* NAME/workspace/: whether bottle NAME has a copy workspace to show. */
bool bf_registry_has_workspace_view(struct bf_registry *reg, const char *name);
/* NAME/git/: whether the bottle has a git-gate, and its mirror (an
 * O_PATH fd of the directory; -ENOENT before the first start). */
bool bf_registry_has_git(struct bf_registry *reg, const char *name);

/* A bottle's queues of what waits for a person (registry_queues.c):
 * whether it has one, the keys waiting (none before the first start),
 * whether a key waits, its text. */
enum bf_queue {
	BF_QUEUE_APPROVALS,     /* NAME/pending/: [network] ask, request_access */
	BF_QUEUE_QUESTIONS,     /* NAME/requests/: ask_human */
};
bool bf_registry_has_queue(struct bf_registry *reg, const char *name, enum bf_queue which);
int bf_registry_queue_keys(struct bf_registry *reg, const char *name, enum bf_queue which,
			   char ***keys);
bool bf_registry_queue_has(struct bf_registry *reg, const char *name, enum bf_queue which,
			   const char *key);
int bf_registry_queue_text(struct bf_registry *reg, const char *name, enum bf_queue which,
			   const char *key, struct bf_buf *out);

/* NAME/check/HOST:PORT: "allow rule=R" or "deny reason=WHY" of the live
 * allowlist; -ENOENT for a name that is not HOST:PORT (registry_ask.c). */
int bf_registry_check(struct bf_registry *reg, const char *name, const char *key,
		      struct bf_buf *out);
/* NAME/pending/ ([network] ask): what waits, its text, and a person's
 * verdict: `msg` "allow" (adds the rule) or "deny"; NULL is rm. */
bool bf_registry_has_pending(struct bf_registry *reg, const char *name);
/* NAME/requests/ (supervise): a question's text as its file shows it,
 * and a person's answer (`answer` NULL: declined). registry_requests.c. */
void bf_registry_requests_log_path(const struct bf_registry *reg, char *out, size_t len);
int bf_registry_request_render(struct bf_registry *reg, const char *name, const char *key,
			       struct bf_buf *out);
int bf_registry_request_decide(struct bf_registry *reg, const char *name, const char *key,
			       const char *answer, size_t len, struct bf_error *err);
int bf_registry_pending_keys(struct bf_registry *reg, const char *name, char ***keys);
int bf_registry_pending_render(struct bf_registry *reg, const char *name, const char *key,
			       struct bf_buf *out);
bool bf_registry_pending_has(struct bf_registry *reg, const char *name, const char *key);
int bf_registry_pending_render(struct bf_registry *reg, const char *name, const char *key,
			       struct bf_buf *out);
int bf_registry_pending_decide(struct bf_registry *reg, const char *name, const char *key,
			       const char *msg, size_t len, struct bf_error *err);
int bf_registry_git_view(struct bf_registry *reg, const char *name, int *fd, struct bf_error *err);
/* The root of that copy, as the guest sees it now (running) or as it was
 * left (stopped): an O_PATH directory fd for the caller to close. -ENOENT
 * when there is no copy workspace or no copy yet. */
int bf_registry_workspace_view(struct bf_registry *reg, const char *name, int *fd,
			       struct bf_error *err);

/* MNT/cleanup: the orphans, one line each ("TYPE ID: WHAT"), and the
 * control message "run" that removes them (registry_cleanup.c). */
int bf_registry_cleanup_render(struct bf_registry *reg, struct bf_buf *out);
int bf_registry_cleanup_ctl(struct bf_registry *reg, const char *msg, size_t len,
			    struct bf_error *err);

#endif
