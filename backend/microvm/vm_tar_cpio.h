/* An exported image (a tar file) turned into initramfs entries, member by
 * member: nothing of it is extracted onto the host. */
#ifndef BOTTLEFS_VM_TAR_CPIO_H
#define BOTTLEFS_VM_TAR_CPIO_H

#include <stdbool.h>

#include "../error.h"
#include "vm_cpio.h"

/* Directories, regular files, symlinks and hard links (written as copies
 * of their target's data) of the tar at `tar_fd` (seekable, read from its
 * start), with their modes and owners; devices, fifos and the root's own
 * entry are left out, and so are the top-level names `skip` accepts.
 * A member with a ".." component, a bad header or a truncated archive
 * fails it (EINVAL, EIO). */
/* Members the caller also wants as they are (the image's etc/passwd and
 * etc/group): each regular file named in `names` (at most 1 MiB) is
 * kept, malloc'ed, in data/len (NULL when the archive has none). */
struct bf_tar_keep {
	const char *names[2];
	char *data[2];
	size_t len[2];
};

int bf_vm_tar_to_cpio(int tar_fd, struct bf_cpio *c, bool (*skip)(const char *top_name),
		      struct bf_tar_keep *keep, struct bf_error *err);

#endif
