/* Recursive copy of a directory tree (files, directories, symlinks),
 * used for the filtered /etc of `image = "host"` and the `copy`
 * workspace snapshot. Special files are skipped. */
#ifndef BOTTLEFS_COPY_TREE_H
#define BOTTLEFS_COPY_TREE_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "access_as.h"
#include "error.h"

/* Decides per entry; `rel` is the path relative to the copy's root. */
typedef bool (*bf_copy_filter_fn)(const char *rel, const struct stat *st);

struct bf_copy_opts {
	bf_copy_filter_fn keep;     /* NULL: keep everything */
	bool chown_to;              /* give every copied entry to uid/gid */
	uid_t uid;
	gid_t gid;
	/* Read the source as this user (its uid, gid and groups): what it
	 * cannot read is not copied, and the copy fails with EACCES where it
	 * cannot search. The source's path may then hold no symlink. */
	const struct bf_caller *read_as;
	/* The source's own path may hold no symlink (implied by read_as). */
	bool no_symlinks;
};

/* Copies src into dst (created, must not exist). Symlinks inside the
 * tree are copied as links, never followed. */
int bf_copy_tree(const char *src, const char *dst, const struct bf_copy_opts *opts,
		 struct bf_error *err);
/* Copies the regular file NAME of the directory open at src_dir into the
 * one open at dst_dir (created there, must not exist), with its mode; a
 * symlink or anything else is refused (EINVAL). 0 or -errno. */
int bf_copy_file_at(int src_dir, int dst_dir, const char *name);

/* Removes a tree; ENOENT is success. Does not cross mount points. */
int bf_remove_tree(const char *path, struct bf_error *err);

#endif
