/* The backend interface: one struct of function pointers per backend
 * (after crun's custom handlers). The bottle model calls only these. */
#ifndef BOTTLEFS_BACKENDS_H
#define BOTTLEFS_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "spawn.h"

struct bf_manifest;
struct bf_bottle;
struct bf_run;
struct bf_exec_session;
struct bf_buf;
struct json_object;

/* Where a backend keeps what it makes for one bottle. */
struct bf_paths {
	char run_dir[1200];        /* STATE/run/NAME: the bottle's storage */
	char runtime_root[1200];    /* STATE/runtime: the OCI runtime's state */
	char log[1200];            /* STATE/run/NAME/log */
	char egress[1200];         /* STATE/run/NAME/egress */
	char git_dir[1200];        /* STATE/git/NAME: git-gate's mirror, log, refs */
	long long log_max;         /* log rotates to log.1 past this many bytes */
	char vm_kernel[1024];      /* -o vm_kernel=DIR, "" for the default */
};

/* A helper process a backend runs as the bottlefs binary itself under
 * another name (oci: the shim): main() hands argv to it by argv[0]. */
struct bf_helper_entry {
	const char *name;
	int (*main)(int argc, char **argv);
};

/* What a command in the guest runs with, copied out of the bottle so
 * that a backend's exec runs without the registry lock. */
struct bf_exec_request {
	const struct bf_run *run;
	char **env;                 /* KEY=value, NULL-terminated */
	const char *workdir;
	char **seccomp_allow;       /* calls the manifest allows beyond the policy */
	size_t seccomp_allow_len;
};

struct bf_backend {
	const char *name;
	/* Its guests run on a kernel of their own (a VM): their user ids
	 * are the VM's, no host's, and no host process is the guest's. */
	bool own_kernel;
	/* Its helpers, NULL-terminated by name; NULL for none. */
	const struct bf_helper_entry *helpers;
	/* The seeds' preflight: 0 if usable, else -errno with err saying
	 * what is missing (a binary, a reachable socket). */
	/* When usable, what runs (a version) may be put in about[0..len),
	 * which is "" otherwise. */
	int (*preflight)(char *about, size_t len, struct bf_error *err);
	/* Backend-specific manifest checks (image form, ...). */
	int (*check_manifest)(const struct bf_manifest *m, struct bf_error *err);
	/* The address the guest dials for its sidecars: guest loopback for
	 * namespace backends, the subnet's proxy address for VMs. `proxy_ip`
	 * is the per-bottle subnet's .2 address. */
	const char *(*guest_sidecar_host)(const char *proxy_ip);

	/* The backend's own part of a run record (bf_run.priv): added to
	 * the state record's run object, read back from it (NULL, or what
	 * is wrong), shown in `status` as "key: value" lines, and named in
	 * one phrase for the log ("runc container ID"). NULL where a
	 * backend keeps nothing of its own. */
	int (*run_save)(const struct bf_run *run, struct json_object *obj);
	const char *(*run_load)(struct json_object *obj, struct bf_run *run);
	void (*run_render)(const struct bf_run *run, struct bf_buf *out);
	void (*run_describe)(const struct bf_run *run, char *out, size_t len);

	/* Lifecycle; NULL where a backend cannot run guests yet. The bottle
	 * is not changed: what a backend learns goes into `run`. */
	/* Launches the guest and returns once it runs. */
	int (*start)(const struct bf_bottle *b, const struct bf_paths *p, struct bf_run *run,
		     struct bf_error *err);
	/* Sends a signal to the guest's main process. */
	int (*signal)(const struct bf_run *run, int sig, struct bf_error *err);
	/* An fd that polls readable once the guest has ended (the caller
	 * closes it). Also the re-attach check: -ESRCH if it is gone. */
	int (*watch)(const struct bf_run *run, struct bf_error *err);
	/* After the guest ended: records its exit in `run` and frees what
	 * the runtime kept for it. */
	int (*collect)(const struct bf_paths *p, struct bf_run *run, struct bf_error *err);
	/* A listening socket for a sidecar port that the guest reaches at
	 * guest_sidecar_host:port (namespace backends: inside its netns). */
	int (*sidecar_listen)(const struct bf_run *run, int port, struct bf_error *err);
	/* At re-attach: ends what the exec sessions of a daemon that is gone
	 * left running in the guest (their output has no reader). NULL if a
	 * backend has none. Returns how many processes it ended. */
	int (*kill_strays)(const struct bf_run *run);
	/* Runs CMD in the running guest through the session. */
	int (*exec)(const struct bf_exec_request *req, struct bf_exec_session *s, const char *cmd,
		    struct bf_error *err);
	/* A directory fd (O_PATH) of the root of a copy workspace, for the
	 * host's read-only view (NAME/workspace/): with `run` the copy the
	 * running guest works in, else the kept copy, mounted read-only on
	 * its own (the caller keeps that fd for reuse and closes it before
	 * the next start). -ENOENT: no copy yet. NULL: no view. */
	int (*workspace_view)(const struct bf_run *run, const struct bf_paths *p, int *fd,
			      struct bf_error *err);
	/* Orphans (MNT/cleanup): what this backend made for the state dir
	 * `state_dir` that belongs to none of the bottles whose identities
	 * are `known`. Each is told to `emit` as a type ("runc-container"),
	 * an id to give remove_orphan, and what removing it does. NULL: it
	 * makes nothing that could be left over. */
	int (*orphans)(const char *state_dir, char *const *known, size_t n_known,
		       void (*emit)(void *ctx, const char *type, const char *id, const char *what),
		       void *ctx, struct bf_error *err);
	int (*remove_orphan)(const char *state_dir, const char *type, const char *id,
			     struct bf_error *err);
	/* Removes everything the backend made for a stopped bottle. */
	int (*destroy)(const struct bf_bottle *b, const struct bf_paths *p, struct bf_error *err);
};

extern const struct bf_backend bf_backend_oci;
extern const struct bf_backend bf_backend_docker;
extern const struct bf_backend bf_backend_microvm;
extern const struct bf_backend bf_backend_smolvm;

const struct bf_backend *bf_backend_find(const char *name);
/* "oci, docker, microvm, smolvm" */
const char *bf_backend_names(void);
/* All backends, NULL-terminated, in the order `backends` lists them. */
const struct bf_backend *const *bf_backend_all(void);

/* The helper named `argv0` of any backend, or NULL. */
const struct bf_helper_entry *bf_backend_helper(const char *argv0);

/* "runc container bottlefs-box-1234abcd", or "guest PID" for a backend
 * that names nothing. */
void bf_run_describe(const struct bf_backend *backend, const struct bf_run *run, char *out,
		     size_t len);

/* Shared preflight helpers (bf_find_program is in spawn.h). */
/* Connects to a unix socket to prove a daemon listens; 0 or -errno. */
int bf_probe_unix_socket(const char *path);

#endif
