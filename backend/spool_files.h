/* Unlinked files that hold exec sessions' output, kept for reuse: making
 * one on ext4 (an inode allocated, later freed) cost 80 µs or more per
 * file, two per session, more than the rest of a one-shot `true`. */
#ifndef BOTTLEFS_SPOOL_FILES_H
#define BOTTLEFS_SPOOL_FILES_H

#include "error.h"

/* An empty unlinked file, readable and writable, on the filesystem of
 * `dir`: a kept one if there is, else a new O_TMPFILE in `dir`. */
int bf_spool_file_get(const char *dir, struct bf_error *err);
/* Gives the file back: emptied and kept (a few at most), else closed. */
void bf_spool_file_put(int fd);
/* Closes every kept file (at unmount; tests). */
void bf_spool_files_drop(void);

#endif
