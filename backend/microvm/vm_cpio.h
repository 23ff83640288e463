/* A writer of the kernel's initramfs format (cpio "newc"): the root of a
 * microvm bottle is unpacked from it into the guest's rootfs. */
#ifndef BOTTLEFS_VM_CPIO_H
#define BOTTLEFS_VM_CPIO_H

#include <stdbool.h>
#include <sys/types.h>

#include "../error.h"

struct bf_cpio {
	int fd;                 /* written in order; not closed here */
	unsigned long ino;
	off_t off;
};

void bf_cpio_init(struct bf_cpio *c, int fd);
/* Entries; names are relative ("etc/passwd"), parents come first. */
int bf_cpio_dir(struct bf_cpio *c, const char *name, mode_t mode, uid_t uid, gid_t gid,
		struct bf_error *err);
int bf_cpio_data(struct bf_cpio *c, const char *name, mode_t mode, uid_t uid, gid_t gid,
		 const void *data, size_t len, struct bf_error *err);
/* A regular file copied from `src_fd` (its size is `len`). */
int bf_cpio_file(struct bf_cpio *c, const char *name, mode_t mode, uid_t uid, gid_t gid, int src_fd,
		 off_t len, struct bf_error *err);
int bf_cpio_symlink(struct bf_cpio *c, const char *name, const char *target, uid_t uid, gid_t gid,
		    struct bf_error *err);
/* A whole host directory tree under `name` ("" for the root): files,
 * directories and symlinks with their modes and owners, never following a
 * link; device nodes, sockets and fifos are left out (the guest's /dev is
 * its own). `skip` (may be NULL) leaves out top-level names it accepts. */
int bf_cpio_tree(struct bf_cpio *c, const char *name, const char *dir,
		 bool (*skip)(const char *top_name), struct bf_error *err);
/* The trailer; the archive is complete. */
int bf_cpio_finish(struct bf_cpio *c, struct bf_error *err);

#endif
