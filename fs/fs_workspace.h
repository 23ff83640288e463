/* NAME/workspace/: the FUSE calls on the read-only view of a copy
 * workspace, turned into reads of the copy the registry points at. Every
 * call resolves its path afresh, beneath the copy's root and through no
 * link (the guest made them); no file of the copy is held open between
 * calls, so a restart is never kept from its image. */
#ifndef BOTTLEFS_FS_WORKSPACE_H
#define BOTTLEFS_FS_WORKSPACE_H

#include "fs.h"
#include "fs_path.h"

/* `rel`: the path below NAME/workspace or NAME/git/mirror.git ("" for
 * the directory itself).
 * Attributes show the copy's types, sizes, times and permission bits,
 * owned as the rest of the tree, without set-id or sticky bits, always
 * readable by the owner. */
int fs_workspace_getattr(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel,
			 struct stat *st);
int fs_workspace_readdir(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel, void *buf,
			 fuse_fill_dir_t filler);
/* 0 if `rel` is a regular file that may be opened with `flags`. */
int fs_workspace_open(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel, int flags);
int fs_workspace_read(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel, char *buf,
		      size_t size, off_t off);
int fs_workspace_readlink(struct bf_registry *reg, enum fs_view view, const char *name, const char *rel, char *buf,
			  size_t size);

#endif
