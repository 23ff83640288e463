/* A bottle: its manifest, the metadata kept for resume, and the plan
 * derived from both. */
#ifndef BOTTLEFS_BOTTLE_H
#define BOTTLEFS_BOTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "backends.h"
#include "buf.h"
#include "exec_session.h"
#include "manifest.h"
#include "subnet.h"

enum bf_state {
	BF_STATE_PLANNED,
	BF_STATE_STARTING,
	BF_STATE_RUNNING,
	BF_STATE_STOPPING,
	BF_STATE_STOPPED,
	BF_STATE_FAILED,
};

#define BF_DEFAULT_STOP_TIMEOUT 10
#define BF_DEFAULT_PIDS 1024
#define BF_DEFAULT_VM_MEMORY (512LL << 20)   /* [limits] memory of a VM bottle */
#define BF_DEFAULT_DISK (10LL << 30)   /* a copy workspace's image, sparse */

#define BF_PORT_EGRESS 8888
#define BF_PORT_GIT_GATE 9418
#define BF_PORT_SUPERVISE 9100

/* What a backend keeps about a launched guest for itself (a container's
 * id, its monitor's identity, ...): opaque to the core, copied by value,
 * saved, loaded and shown by the backend (run_save, run_load,
 * run_render in backends.h). */
#define BF_RUN_PRIVATE_SIZE 1024

struct bf_run_private {
	union {
		unsigned char bytes[BF_RUN_PRIVATE_SIZE];
		unsigned long long align;
	};
};

/* What a backend reports about a launched guest; kept for re-attach. */
struct bf_run {
	bool launched;          /* a guest was started (else: only `reason`) */
	pid_t pid;              /* the guest's main process, host pid */
	uid_t guest_uid;        /* the guest user (as the guest sees it), for exec */
	gid_t guest_gid;
	/* Host id of the guest's id 0: the bottle's id_base in a user
	 * namespace of its own, 0 when the guest shares the host's (a docker
	 * engine without userns-remap, whose guests run as host ids of the
	 * bottle's range). */
	unsigned long long id_offset;
	unsigned long long gid_offset;  /* the same for group ids */
	unsigned id_count;      /* ids the guest's map holds; 0: no map */
	time_t started_at;
	time_t stopped_at;
	int exit_code;          /* valid when exit_signal == 0 and stopped */
	int exit_signal;        /* the signal that ended the guest, or 0 */
	char reason[256];       /* why it failed or stopped, "" if no reason */
	/* What re-attach checks before trusting `pid` (a guest that is a
	 * host process): its start time (clock ticks after boot,
	 * /proc/PID/stat) and user namespace. */
	unsigned long long guest_start;
	unsigned long long guest_userns;
	/* bind workspace: the host owner the guest user stands for */
	bool workspace_idmapped;
	uid_t workspace_uid;
	gid_t workspace_gid;
	struct bf_run_private priv;
};

/* What the state store keeps besides the manifest text. */
struct bf_meta {
	char identity[80];      /* NAME-xxxxxxxx, stable for the bottle's life */
	char backend[16];       /* resolved at creation */
	unsigned octet;         /* the subnet's third octet */
	enum bf_state state;
	uid_t owner;            /* who wrote the manifest */
	unsigned long long id_base; /* host id of guest id 0; 0: not yet given */
	time_t created_at;
	struct bf_run run;
};

struct bf_bottle {
	char name[BF_NAME_MAX + 1];
	char *manifest_text;
	size_t manifest_len;
	struct bf_manifest manifest;
	struct bf_meta meta;
	const struct bf_backend *backend;
	struct bf_subnet subnet;
	char **env;             /* sorted KEY=value, with the proxy variables */
	size_t env_len;
	bool stop_requested;    /* the guest's end was asked for (stop, restart) */
	long long stop_timeout; /* the manifest's, or the mount's default */
	struct bf_exec_session **sessions;  /* exec/: in creation order */
	size_t n_sessions;
	struct bf_egress *egress;           /* the proxy, while running */
	/* NAME/pending/ ([network] ask) and NAME/requests/ (supervise):
	 * made with the bottle, closed while it is not running. */
	struct bf_waitq *approvals;
	struct bf_waitq *questions;
	char **allow_live;      /* the allowlist as `allow` last set it, or NULL:
				 * then the manifest's [network] allow holds */
	size_t n_allow_live;
	/* Stopped, a copy workspace mounted read-only for NAME/workspace/,
	 * kept for the next look; closed before a start. */
	bool view_open;
	int view_fd;
	/* rmdir is removing what the backend made (without the lock): the
	 * bottle is no longer found, but its name is not free yet. */
	bool removing;
	/* The newest record not yet written (bf_registry_flush_save). */
	char *save_pending;
};

/* Builds a bottle from manifest text and metadata (meta.backend names the
 * backend). On error returns -errno with err set and *line the manifest
 * line at fault; `out` then holds nothing to free. */
int bf_bottle_build(const char *name, const char *text, size_t len,
		    const struct bf_meta *meta, struct bf_bottle *out,
		    struct bf_error *err, int *line);
void bf_bottle_free(struct bf_bottle *b);

/* The guest user's home: /root for root, else /home/USER; a directory of
 * the bottle's own, kept across restarts (bottlefs(8)). */
void bf_guest_home(const struct bf_manifest *m, char *out, size_t len);

const char *bf_state_name(enum bf_state state);
int bf_state_parse(const char *word, enum bf_state *out);

/* Renderers of the generated files; each returns 0 or -ENOMEM. */
int bf_render_plan(const struct bf_bottle *b, struct bf_buf *out);
int bf_render_env(const struct bf_bottle *b, struct bf_buf *out);
int bf_render_network(const struct bf_bottle *b, struct bf_buf *out);
int bf_render_status(const struct bf_bottle *b, struct bf_buf *out);

#endif
