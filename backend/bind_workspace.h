/* A bind workspace: the host directory itself, mounted idmapped so that
 * its owner's files are the guest user's and what the guest user makes
 * is its owner's on the host (never root's). Checked by the daemon when
 * a bottle starts; attached by a single-threaded helper (the oci shim in
 * its own mount namespace, a docker helper in the host's). */
#ifndef BOTTLEFS_BIND_WORKSPACE_H
#define BOTTLEFS_BIND_WORKSPACE_H

#include <stddef.h>

#include "bottle.h"
#include "error.h"
#include "guest_user.h"

/* The workspace may hold no symlink on its path, must not be root's, and
 * must be the manifest writer's unless root wrote it (EPERM, ELOOP). Sets
 * user->ws_idmap, ws_uid, ws_gid. */
int bf_bind_workspace_check(const struct bf_bottle *b, struct bf_guest_user *user,
			    struct bf_error *err);

/* "OWNER_UID:OWNER_GID:HOST_UID:HOST_GID:PATH" for the helper. */
void bf_bind_workspace_spec(const struct bf_guest_user *user, unsigned long long host_uid,
			    unsigned long long host_gid, const char *path, char *out, size_t len);

/* Mounts PATH of `spec` at `target`, the owner's ids shown as HOST ids.
 * Forks briefly (a user namespace for the map): single-threaded callers
 * only. A directory whose owner changed since the check is refused. */
int bf_bind_workspace_attach(const char *spec, const char *target, struct bf_error *err);

#endif
