/* git-gate: the guest's git:// server (port 9418). Each connection is
 * served by Debian's git itself over a bare mirror kept under the state
 * dir, never over the host's repository:
 *
 *   - clone and fetch (upload-pack) first refresh the mirror from the host
 *     repository: the host's branches that match [git] fetch, except
 *     those matching [git] push, which are the agent's;
 *   - push (receive-pack) runs bottlefs-git-hook as git's update hook,
 *     which lets through only refs matching [git] push, fast-forwards only
 *     (unless [git] force), and tells the guest's git why it refused.
 *
 * The mirror's git runs as the bottle's host id (no account, no
 * capabilities); the host repository is read by a git running as the
 * manifest's writer, whose pack reaches the mirror's fetch through a pipe
 * (bottlefs-git-fdpass). Nothing runs as root. */
#ifndef BOTTLEFS_GIT_GATE_H
#define BOTTLEFS_GIT_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../access_as.h"
#include "../error.h"

struct bf_git_gate_config {
	const char *dir;        /* STATE/git/NAME: mirror.git, hooks/, log, refs */
	const char *repo;       /* [git] repo */
	struct bf_caller writer;
	uid_t id;               /* the bottle's host id (its id_base) */
	char *const *push;
	size_t n_push;
	char *const *fetch;
	size_t n_fetch;
	bool force;
	int timeout;            /* seconds a quiet connection lives */
};

struct bf_git_gate;

/* Makes the mirror (kept across starts) and the hook link; no lock is
 * held by the caller: this spawns git. */
int bf_git_gate_open(const struct bf_git_gate_config *cfg, struct bf_git_gate **out,
		     struct bf_error *err);
/* Serves one guest connection to its end; `fd` stays the caller's. */
void bf_git_gate_serve(struct bf_git_gate *g, int fd);
void bf_git_gate_free(struct bf_git_gate *g);
/* The answer of a gate that could not open (its reason is in errors). */
void bf_git_gate_unavailable(int fd);

/* Removes a bottle's git state (rmdir NAME); 0 if there was none. */
int bf_git_gate_remove(const char *dir, struct bf_error *err);

#endif
