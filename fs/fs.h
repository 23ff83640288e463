/* The FUSE layer: translates file operations into bottle operations. */
#ifndef BOTTLEFS_FS_H
#define BOTTLEFS_FS_H

#define FUSE_USE_VERSION 314
#include <fuse.h>
#include <sys/types.h>

#include "../backend/registry.h"

struct bf_fs {
	struct bf_registry *reg;
	uid_t owner;            /* the mounting user: may create and control */
};

const struct fuse_operations *bf_fs_operations(void);

#endif
