/* The FUSE layer's operations by path (fs_ops.c), called by the low-level
 * adapter (fs_lowlevel.c) once it has turned an inode into a path and
 * named the request being served. */
#ifndef BOTTLEFS_FS_OPS_H
#define BOTTLEFS_FS_OPS_H

#include "../backend/exec_session.h"
#include "fs.h"

/* The request this thread serves: its caller, its interruption. */
void fs_ops_begin(fuse_req_t req);

int bf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int bf_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
	       struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int bf_open(const char *path, struct fuse_file_info *fi);
int bf_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int bf_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int bf_write(const char *path, const char *data, size_t size, off_t off,
	     struct fuse_file_info *fi);
int bf_flush(const char *path, struct fuse_file_info *fi);
int bf_release(const char *path, struct fuse_file_info *fi);
int bf_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int bf_mkdir(const char *path, mode_t mode);
int bf_rmdir(const char *path);
int bf_unlink(const char *path);
int bf_readlink(const char *path, char *buf, size_t size);
/* Whether nothing at `path` may change (EROFS): chmod, touch, truncate. */
bool bf_read_only(const char *path);

/* 1 if a read of this open file at `off` would have to wait for the
 * command (its output, its end): the adapter then puts it aside; 0 if it
 * answers now; -errno if the one-shot command could not start. */
int fs_read_would_wait(struct fuse_file_info *fi, off_t off);
/* A read of a session's output that can be answered from its storage
 * without copies: bytes available (0 at its end) with their fd and
 * offset; -EAGAIN where bf_read must serve it. Call after
 * fs_read_would_wait said it will not wait. A span > 0 holds the session
 * in *span until fs_read_span_done, called once replied: until then its
 * bytes stay as they are (and the fd open), even if the file is released
 * as soon as the reply is out. */
struct fs_span {
	struct bf_exec_session *session;
	enum bf_exec_stream stream;
};
ssize_t fs_read_span(struct fuse_file_info *fi, size_t size, off_t off, int *fd, off_t *at,
		     struct fs_span *span);
void fs_read_span_done(struct fs_span *span);

#endif
