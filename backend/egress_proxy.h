/* The egress proxy of one bottle (the seeds' "pipelock" role): HTTP
 * CONNECT and plain absolute-form HTTP, decided against a live allowlist,
 * resolved on the host side, one `egress` line per decision.
 *
 * Its listening sockets are handed in by the backend: for namespace
 * backends they are bound inside the guest's own network namespace, so
 * the guest reaches the proxy and nothing else. */
#ifndef BOTTLEFS_EGRESS_PROXY_H
#define BOTTLEFS_EGRESS_PROXY_H

#include <stddef.h>

#include "error.h"

#define BF_EGRESS_LOG_MAX (1024 * 1024)

enum bf_sidecar_kind {
	BF_SIDECAR_EGRESS,      /* the proxy */
	BF_SIDECAR_GIT_GATE,    /* git:// served by `git` (git/git_gate.h) */
	BF_SIDECAR_SUPERVISE,   /* MCP served by supervise.h */
};

struct bf_git_gate;
struct bf_supervise;

struct bf_sidecar_listener {
	int fd;                 /* listening socket; the proxy owns it */
	enum bf_sidecar_kind kind;
	struct bf_git_gate *git;        /* BF_SIDECAR_GIT_GATE: owned like fd */
	struct bf_supervise *sup;       /* BF_SIDECAR_SUPERVISE: owned like fd */
};

struct bf_egress;

#define BF_EGRESS_IDLE_DEFAULT 300
#define BF_EGRESS_CONNECTIONS_DEFAULT 128

/* Per bottle: a tunnel or request with no byte either way for
 * `idle_timeout` seconds is ended; at most `max_connections` at once
 * (each has a thread), more get 503. */
struct bf_egress_limits {
	int idle_timeout;
	unsigned max_connections;
	long long log_max;      /* egress rotates to egress.1 past this; 0: 1 MiB */
	/* [network] ask: a destination no rule names waits here for a
	 * person (up to idle_timeout) instead of being refused at once;
	 * the proxy keeps a reference. NULL: refused at once. */
	struct bf_waitq *ask;
};

/* Starts serving the listeners; `log_path` is the bottle's egress file.
 * On failure the listeners (and their gates) are still the caller's. */
int bf_egress_start(const char *log_path, const struct bf_sidecar_listener *listeners,
		    size_t n, char *const *rules, size_t n_rules,
		    const struct bf_egress_limits *limits, struct bf_egress **out,
		    struct bf_error *err);
/* Replaces the allowlist; new connections obey it at once. */
int bf_egress_set_rules(struct bf_egress *e, char *const *rules, size_t n);
/* Closes the listeners and shuts down open connections without waiting
 * for them (one may sit in a lookup); the last to end frees the proxy. */
void bf_egress_stop(struct bf_egress *e);

#endif
