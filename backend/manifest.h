/* The bottle manifest: what a user writes into new/NAME, validated. */
#ifndef BOTTLEFS_MANIFEST_H
#define BOTTLEFS_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define BF_MANIFEST_MAX (64 * 1024)
#define BF_NAME_MAX 63

enum bf_workspace_mode {
	BF_WORKSPACE_NONE,
	BF_WORKSPACE_COPY,
	BF_WORKSPACE_BIND,
};

struct bf_env_var {
	char *name;
	char *value;
};

/* [[mount]]: a host directory or file (tools) in the guest. */
struct bf_mount {
	char *source;
	char *target;
	bool rw;
};

#define BF_MOUNTS_MAX 16

struct bf_manifest {
	char *agent;
	char *backend;          /* NULL: the mount's default backend */
	char *image;
	char *kernel;           /* microvm: a guest kernel directory; NULL: the mount's */
	char *user;
	char **command;
	size_t command_len;
	char *workdir;
	struct bf_env_var *env; /* in manifest order */
	size_t env_len;
	char *workspace_path;   /* NULL when mode is none */
	enum bf_workspace_mode workspace_mode;
	char **allow;
	size_t allow_len;
	long long idle_timeout;     /* egress: seconds a quiet connection lives */
	long long max_connections;  /* egress: connections at once */
	bool ask;               /* egress: a refused destination waits in pending/ */
	bool git_gate;          /* set by [git] */
	char *git_repo;         /* [git] repo: the host repository served */
	char **git_push;        /* ref patterns the agent may push (git_refs.h) */
	size_t git_push_len;
	char **git_fetch;       /* ref patterns the agent sees; default "*" */
	size_t git_fetch_len;
	bool git_force;         /* non-fast-forward pushes and deletions too */
	bool supervise;
	long long cpus;         /* 0: no limit */
	long long memory;       /* bytes, 0: not set (the bottle's default holds) */
	long long pids;         /* 0: not set (the bottle's default holds) */
	long long tmp;          /* bytes of the /tmp tmpfs, 0: not set */
	long long disk;         /* bytes of a copy workspace, 0: not set */
	long long stop_timeout; /* seconds between SIGTERM and SIGKILL; -1: unset */
	struct bf_mount *mounts;
	size_t mounts_len;
	char **path_prepend;    /* directories put before PATH */
	size_t path_prepend_len;
	char **seccomp_allow;   /* calls the default filter refuses, allowed */
	size_t seccomp_allow_len;
};

/* Parses and validates a manifest. On failure returns -errno with err set
 * and *line the 1-based manifest line at fault (0 when not line-specific).
 * `out` needs bf_manifest_free() only after success. */
int bf_manifest_parse(const char *text, size_t len, struct bf_manifest *out,
		      struct bf_error *err, int *line);
void bf_manifest_free(struct bf_manifest *m);

/* Bottle names: [a-z0-9][a-z0-9_.-]{0,62}, except the top-level entries
 * new, errors and backends. */
bool bf_name_valid(const char *name);

const char *bf_workspace_mode_name(enum bf_workspace_mode mode);

/* Parses "512", "512K", "2M", "2G", "1T" (powers of 1024) into bytes. */
int bf_parse_size(const char *s, long long *out);

#endif
