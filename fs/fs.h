/* The FUSE layer: translates file operations into bottle operations. */
#ifndef BOTTLEFS_FS_H
#define BOTTLEFS_FS_H

#define FUSE_USE_VERSION 314
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../backend/registry.h"

struct bf_fs {
	struct bf_registry *reg;
	struct fuse_session *se;        /* for the cache's invalidations */
	uid_t owner;            /* the mounting user: may create and control */
	gid_t read_gid;         /* with allow_other: this group may read */
	bool has_read_gid;
};

/* The low-level operations (fs_lowlevel.c); userdata is a struct bf_fs. */
const struct fuse_lowlevel_ops *bf_fs_lowlevel_ops(void);
/* Ends the thread that answers reads put aside; after the session loop. */
void bf_fs_shutdown(void);

#endif
