/* Command line and -o options of bottlefs and mount.bottlefs. */
#ifndef BOTTLEFS_OPTIONS_H
#define BOTTLEFS_OPTIONS_H

#define FUSE_USE_VERSION 314
#include <fuse.h>
#include <stdbool.h>

#include "../backend/registry.h"

struct bf_options {
	char *state_dir;        /* -o state=DIR */
	char *backend;          /* -o backend=NAME */
	char *stop_timeout;     /* -o stop_timeout=SECONDS */
	char *read_gid;         /* -o read_gid=GID */
	char *id_base;          /* -o idbase=N: first host id for guests */
	char *log_max;          /* -o log_max=SIZE: log and egress rotate past it */
	char *vm_kernel;        /* -o vm_kernel=DIR: the microvm guest kernel */
	bool sloppy;            /* mount -s: ignore unknown options */
	bool fake;              /* mount -f: do everything but mount */
	char bad_option[256];   /* first unknown option, for the message */
};

/* Turns `mount.bottlefs SPEC DIR [-sfnv] [-o OPTS]` (as mount(8) calls
 * helpers) into bottlefs's own argument list. Returns 0 or -EINVAL. */
int bf_helper_args(int argc, char **argv, struct fuse_args *out, struct bf_options *opts);

/* Parses our -o options out of args, leaves libfuse's in, and refuses
 * anything else. Returns 0 or -EINVAL (opts->bad_option says which). */
int bf_options_parse(struct fuse_args *args, struct bf_options *opts);

/* The group that may read the tree (read_gid=): 1 and *gid set, 0 when
 * not given, -EINVAL when not a number. */
int bf_options_read_gid(const struct bf_options *opts, gid_t *gid);

/* Fills the registry config from the options and their defaults. */
int bf_options_config(const struct bf_options *opts, struct bf_config *cfg);

void bf_options_free(struct bf_options *opts);

#endif
