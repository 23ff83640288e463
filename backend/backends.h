/* The backend interface: one struct of function pointers per backend
 * (after crun's custom handlers). The bottle model calls only these. */
#ifndef BOTTLEFS_BACKENDS_H
#define BOTTLEFS_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct bf_manifest;

struct bf_backend {
	const char *name;
	/* The seeds' preflight: 0 if usable, else -errno with err saying
	 * what is missing (a binary, a reachable socket). */
	int (*preflight)(struct bf_error *err);
	/* Backend-specific manifest checks (image form, ...). */
	int (*check_manifest)(const struct bf_manifest *m, struct bf_error *err);
	/* The address the guest dials for its sidecars: guest loopback for
	 * namespace backends, the subnet's proxy address for VMs. `proxy_ip`
	 * is the per-bottle subnet's .2 address. */
	const char *(*guest_sidecar_host)(const char *proxy_ip);
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

/* Shared preflight helpers. */
/* Finds `prog` in PATH (or the standard sbin/bin dirs); 0 or -ENOENT. */
int bf_find_program(const char *prog, char *path, size_t path_len);
/* Connects to a unix socket to prove a daemon listens; 0 or -errno. */
int bf_probe_unix_socket(const char *path);

#endif
