/* FUSE operations by path (fs_lowlevel.c maps inodes to paths and calls
 * these). Each one classifies the path and calls the registry;
 * no bottle logic lives here. Generated files are rendered into a
 * per-open buffer (one consistent snapshot per reader) and served with
 * direct_io, except a bottle's rendered files, which the kernel caches
 * (fs_cache.c): their reads render afresh, so that no page the kernel
 * keeps predates the last invalidation; manifests written to new/NAME or NAME/manifest are collected
 * per open and committed when the file is closed (flush), which is where
 * a bad manifest's error reaches close(2). */
#include "fs_ops.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bsd/string.h>

#include "fs_cache.h"
#include "fs_path.h"
#include "fs_pending.h"
#include "fs_workspace.h"
#include "../backend/exec_session.h"

enum handle_kind {
	HANDLE_SNAPSHOT,        /* a generated file, rendered at open */
	HANDLE_NEW,             /* new/NAME being written */
	HANDLE_MANIFEST,        /* NAME/manifest opened for writing */
	HANDLE_ALLOW,           /* NAME/allow opened for writing */
	HANDLE_CTL,             /* NAME/ctl opened for writing */
	HANDLE_PENDING,         /* NAME/pending/KEY opened for writing */
	HANDLE_ANSWER,          /* NAME/requests/N/answer opened for writing */
	HANDLE_CLEANUP,         /* cleanup opened for writing */
	HANDLE_LOG,             /* NAME/log: reads go to the file itself */
	HANDLE_SESSION,         /* a file of NAME/exec/S, or NAME/exec/run */
	HANDLE_WORKSPACE,       /* a file of NAME/workspace/ */
};

struct handle {
	enum handle_kind kind;
	char name[BF_NAME_MAX + 1];
	bool fresh;             /* HANDLE_SNAPSHOT of a cached file: reads
				 * render the file now */
	enum bf_file file;      /* ... which one */
	struct bf_buf buf;
	struct bf_caller who;
	bool dirty;             /* written since the last commit */
	bool created;           /* HANDLE_NEW: the bottle exists now */
	bool too_big;           /* a write went past the size limit */
	bool refused;           /* NAME/allow: a written rule was invalid */
	int result;             /* what the last commit returned */
	int fd;                 /* HANDLE_LOG: the file being read */
	char path[1300];        /* HANDLE_LOG: where it lives */
	pthread_mutex_t lock;   /* HANDLE_LOG: reads may race a switch */
	struct bf_exec_session *session;    /* HANDLE_SESSION, referenced */
	enum fs_session_file session_file;
	bool oneshot;           /* exec/run: the session is this open's own */
	off_t read_pos;         /* exec/run: reads follow their own position,
				 * since the command's write moved the file's */
	char *workspace_rel;    /* HANDLE_WORKSPACE: below the view's root */
	enum fs_view view;      /* HANDLE_WORKSPACE: which view */
};

static bool follow_rotation(struct handle *h);

/* The request being served by this thread (set by fs_lowlevel.c). */
static __thread fuse_req_t current;

void fs_ops_begin(fuse_req_t req)
{
	current = req;
}

static struct bf_fs *fs_ctx(void)
{
	return fuse_req_userdata(current);
}

static struct handle *handle_of(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/* Only root and the mounting user may change anything. */
static bool may_write(void)
{
	uid_t uid = fuse_req_ctx(current)->uid;

	return uid == 0 || uid == fs_ctx()->owner;
}

static struct bf_caller caller(void)
{
	const struct fuse_ctx *c = fuse_req_ctx(current);
	struct bf_caller who = { .uid = c->uid, .gid = c->gid };
	int n = fuse_req_getgroups(current, BF_MAX_GROUPS, who.groups);

	/* Unknown groups count as none: the check only gets stricter. */
	who.n_groups = n > 0 && n <= BF_MAX_GROUPS ? (size_t)n : 0;
	return who;
}

static int render(const struct fs_path *p, struct bf_buf *out)
{
	struct bf_registry *reg = fs_ctx()->reg;

	switch (p->node) {
	case NODE_ERRORS: return bf_registry_render_errors(reg, out);
	case NODE_CLEANUP: return bf_registry_cleanup_render(reg, out);
	case NODE_BACKENDS: return bf_registry_render_backends(reg, out);
	case NODE_BOTTLE_FILE: return bf_registry_render(reg, p->name, p->file, out);
	case NODE_CHECK_FILE: return bf_registry_check(reg, p->name, p->key, out);
	case NODE_PENDING_FILE: return bf_registry_pending_render(reg, p->name, p->key, out);
	case NODE_REQUEST_QUESTION: return bf_registry_request_render(reg, p->name, p->key, out);
	default: return -EISDIR;
	}
}

/* log, egress and git/'s files are real files that grow or are replaced,
 * kept in the bottle's storage. */
static bool is_real_file(const struct fs_path *p)
{
	return p->node == NODE_REQUESTS_LOG ||
	       (p->node == NODE_BOTTLE_FILE &&
		(p->file == BF_FILE_LOG || p->file == BF_FILE_EGRESS || p->file == BF_FILE_GIT_LOG ||
		 p->file == BF_FILE_GIT_REFS));
}

/* Whether the read-only view a NODE_WORKSPACE path is in exists. */
static bool view_exists(const struct fs_path *p)
{
	return p->view == VIEW_GIT_MIRROR ? bf_registry_has_git(fs_ctx()->reg, p->name)
					  : bf_registry_has_workspace_view(fs_ctx()->reg, p->name);
}

/* Directories that are there while their bottle, and what they show, are. */
static bool dir_exists(const struct fs_path *p)
{
	struct bf_registry *reg = fs_ctx()->reg;

	switch (p->node) {
	case NODE_GIT_DIR: return bf_registry_has_git(reg, p->name);
	case NODE_PENDING_DIR: return bf_registry_has_queue(reg, p->name, BF_QUEUE_APPROVALS);
	case NODE_REQUESTS_DIR: return bf_registry_has_queue(reg, p->name, BF_QUEUE_QUESTIONS);
	case NODE_REQUEST_DIR: return bf_registry_queue_has(reg, p->name, BF_QUEUE_QUESTIONS, p->key);
	default: return bf_registry_exists(reg, p->name);
	}
}

/* Its size is the file's. */
static int log_attr(const struct fs_path *p, struct stat *st)
{
	char path[4096];
	struct stat real;
	int r = bf_registry_file_path(fs_ctx()->reg, p->name, p->file, path, sizeof(path));

	if (r < 0)
		return r;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = stat(path, &real) == 0 ? real.st_size : 0;
	return 0;
}

static void fill_dir(struct stat *st, mode_t mode);

/* check/ and pending/ files: small texts, rendered to know their size. */
static int rendered_attr(const struct fs_path *p, struct stat *st)
{
	struct bf_buf out = { 0 };
	int r = render(p, &out);

	if (r < 0)
		return r;
	st->st_mode = S_IFREG | (p->node == NODE_PENDING_FILE ? 0644 : 0444);
	st->st_nlink = 1;
	st->st_size = (off_t)out.len;
	bf_buf_free(&out);
	return 0;
}

/* Half a megabyte: a reply and its header must fit the pipe libfuse
 * splices through, which cannot grow past pipe-max-size (1 MiB); a
 * megabyte would send every reply through a copy instead. */
#define STREAM_BLKSIZE (512 * 1024)

/* Sizes of streams are what has arrived so far; the rest of a session's
 * files are small texts whose size is not known before reading. */
static int session_attr(const struct fs_path *p, struct stat *st)
{
	struct bf_exec_session *s = bf_registry_exec_get(fs_ctx()->reg, p->name, p->session);

	if (!s)
		return -ENOENT;
	if (p->node == NODE_SESSION_DIR) {
		fill_dir(st, 0755);
	} else {
		st->st_mode = S_IFREG | p->mode;
		st->st_nlink = 1;
		if (p->session_file == SESSION_STDOUT)
			st->st_size = bf_exec_size(s, BF_EXEC_STDOUT);
		else if (p->session_file == SESSION_STDERR)
			st->st_size = bf_exec_size(s, BF_EXEC_STDERR);
		/* Readers that size their buffer by it (cat, cp) then ask
		 * for more per read than their 128 KiB: fewer round trips
		 * per stream. */
		if (p->session_file == SESSION_STDOUT || p->session_file == SESSION_STDERR)
			st->st_blksize = STREAM_BLKSIZE;
	}
	bf_exec_unref(s);
	return 0;
}

static void fill_dir(struct stat *st, mode_t mode)
{
	st->st_mode = S_IFDIR | mode;
	st->st_nlink = 2;
}

static int getattr_node(const char *path, struct stat *st, struct fuse_file_info *fi);

/* Who may do what is the kernel's to check (default_permissions): the
 * owner has what the tree allows; with read_gid= that group may read and
 * search, never write; nobody else gets anything. */
int bf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	const struct bf_fs *fs = fs_ctx();
	int r = getattr_node(path, st, fi);

	if (r == 0 && fs->has_read_gid) {
		mode_t owner = st->st_mode & S_IRWXU;

		st->st_gid = fs->read_gid;
		st->st_mode = (st->st_mode & ~(mode_t)(S_IRWXG | S_IRWXO)) | (owner & (S_IRUSR | S_IXUSR)) >> 3;
	}
	return r;
}

static int getattr_node(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct fs_path p;
	struct bf_buf b = { 0 };
	int r;

	memset(st, 0, sizeof(*st));
	st->st_uid = fs_ctx()->owner;
	st->st_gid = getgid();
	st->st_mtime = st->st_ctime = st->st_atime = time(NULL);
	fs_path_parse(path, &p);
	switch (p.node) {
	case NODE_ROOT:
		fill_dir(st, 0700);
		return 0;
	case NODE_NEW_DIR:
		fill_dir(st, 0700);
		return 0;
	case NODE_NEW_FILE:
		if (!fs_pending_has(p.name))
			return -ENOENT;
		st->st_mode = S_IFREG | 0200;
		st->st_nlink = 1;
		return 0;
	case NODE_BOTTLE_DIR:
	case NODE_EXEC_DIR:
	case NODE_GIT_DIR:
	case NODE_CHECK_DIR:
	case NODE_PENDING_DIR:
	case NODE_REQUESTS_DIR:
	case NODE_REQUEST_DIR:
		if (!dir_exists(&p))
			return -ENOENT;
		fill_dir(st, p.node == NODE_CHECK_DIR ? 0555 : 0755);
		return 0;
	case NODE_EXEC_RUN:
		if (!bf_registry_exists(fs_ctx()->reg, p.name))
			return -ENOENT;
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		return 0;
	case NODE_SESSION_DIR:
	case NODE_SESSION_FILE:
		return session_attr(&p, st);
	case NODE_CLEANUP:
		/* Making the plan asks the backends (an engine): its size is
		 * known only by reading, as for /proc files. */
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		return 0;
	case NODE_WORKSPACE:
		if (!view_exists(&p))
			return -ENOENT;
		return fs_workspace_getattr(fs_ctx()->reg, p.view, p.name, p.workspace_rel, st);
	case NODE_CHECK_FILE:
	case NODE_PENDING_FILE:
	case NODE_REQUEST_QUESTION:
		return rendered_attr(&p, st);
	case NODE_REQUESTS_LOG:
		return log_attr(&p, st);
	case NODE_REQUEST_ANSWER:
		if (!bf_registry_queue_has(fs_ctx()->reg, p.name, BF_QUEUE_QUESTIONS, p.key))
			return -ENOENT;
		st->st_mode = S_IFREG | 0200;
		st->st_nlink = 1;
		return 0;
	case NODE_BOTTLE_FILE:
		/* fstat(2) on an open log or egress: the size of that file. */
		if (fi && fi->fh && handle_of(fi)->kind == HANDLE_LOG) {
			struct handle *h = handle_of(fi);
			struct stat real = { 0 };
			int failed = 0;

			pthread_mutex_lock(&h->lock);
			follow_rotation(h);
			if (h->fd >= 0 && fstat(h->fd, &real) < 0)
				failed = -errno;
			pthread_mutex_unlock(&h->lock);
			st->st_mode = S_IFREG | 0444;
			st->st_nlink = 1;
			st->st_size = real.st_size;
			return failed;
		}
		if (is_real_file(&p))
			return log_attr(&p, st);
		/* fall through */
	case NODE_ERRORS:
	case NODE_BACKENDS:
		/* Honest sizes: render now and report the length. */
		r = render(&p, &b);
		if (r < 0)
			return r;
		st->st_mode = S_IFREG | (p.node == NODE_BOTTLE_FILE ? p.mode : 0444);
		st->st_nlink = 1;
		st->st_size = (off_t)b.len;
		bf_buf_free(&b);
		return 0;
	default:
		return -ENOENT;
	}
}

struct fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
};

static void fill_pending(void *ctx, const char *name)
{
	struct fill_ctx *fc = ctx;

	fc->filler(fc->buf, name, NULL, 0, 0);
}

static int readdir_exec(const struct fs_path *p, void *buf, fuse_fill_dir_t filler)
{
	char **names = NULL;
	size_t i;
	int r;

	if (p->node == NODE_SESSION_DIR) {
		struct bf_exec_session *s = bf_registry_exec_get(fs_ctx()->reg, p->name, p->session);

		if (!s)
			return -ENOENT;
		bf_exec_unref(s);
		filler(buf, ".", NULL, 0, 0);
		filler(buf, "..", NULL, 0, 0);
		for (i = 0; fs_session_files[i].name; i++)
			filler(buf, fs_session_files[i].name, NULL, 0, 0);
		return 0;
	}
	r = bf_registry_exec_names(fs_ctx()->reg, p->name, &names);
	if (r < 0)
		return r;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	filler(buf, "run", NULL, 0, 0);
	for (i = 0; names[i]; i++)
		filler(buf, names[i], NULL, 0, 0);
	bf_strv_free(names);
	return 0;
}

/* git/, check/, pending/, requests/ and requests/N/. */
static int readdir_listing(const struct fs_path *p, void *buf, fuse_fill_dir_t filler)
{
	static const char *const git_entries[] = { "log", "refs", "mirror.git", NULL };
	static const char *const request_entries[] = { "question", "answer", NULL };
	const char *const *fixed = p->node == NODE_GIT_DIR ? git_entries
				  : p->node == NODE_REQUEST_DIR ? request_entries : NULL;
	char **names = NULL;
	size_t i;
	int r;

	if (!dir_exists(p))
		return -ENOENT;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	for (i = 0; fixed && fixed[i]; i++)
		filler(buf, fixed[i], NULL, 0, 0);
	/* check/: any HOST:PORT may be looked up, none is listed. */
	if (p->node != NODE_PENDING_DIR && p->node != NODE_REQUESTS_DIR)
		return 0;
	r = bf_registry_queue_keys(fs_ctx()->reg, p->name,
				   p->node == NODE_PENDING_DIR ? BF_QUEUE_APPROVALS : BF_QUEUE_QUESTIONS,
				   &names);
	if (r < 0)
		return r;
	for (i = 0; names[i]; i++)
		filler(buf, names[i], NULL, 0, 0);
	bf_strv_free(names);
	return 0;
}

int bf_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fs_path p;
	struct fill_ctx fc = { buf, filler };
	char **names = NULL;
	size_t i;
	int r;

	(void)off;
	(void)fi;
	(void)flags;
	fs_path_parse(path, &p);
	if (p.node == NODE_BOTTLE_DIR && !bf_registry_exists(fs_ctx()->reg, p.name))
		return -ENOENT;
	if (p.node == NODE_EXEC_DIR || p.node == NODE_SESSION_DIR)
		return readdir_exec(&p, buf, filler);
	if (p.node == NODE_WORKSPACE)
		return view_exists(&p) ? fs_workspace_readdir(fs_ctx()->reg, p.view, p.name,
							      p.workspace_rel, buf, filler)
				       : -ENOENT;
	if (p.node == NODE_REQUESTS_DIR || p.node == NODE_REQUEST_DIR || p.node == NODE_CHECK_DIR ||
	    p.node == NODE_PENDING_DIR || p.node == NODE_GIT_DIR)
		return readdir_listing(&p, buf, filler);
	if (p.node != NODE_ROOT && p.node != NODE_NEW_DIR && p.node != NODE_BOTTLE_DIR)
		return -ENOTDIR;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	switch (p.node) {
	case NODE_ROOT:
		filler(buf, "new", NULL, 0, 0);
		filler(buf, "errors", NULL, 0, 0);
		filler(buf, "cleanup", NULL, 0, 0);
		filler(buf, "backends", NULL, 0, 0);
		filler(buf, "requests.log", NULL, 0, 0);
		r = bf_registry_names(fs_ctx()->reg, &names);
		if (r < 0)
			return r;
		for (i = 0; names[i]; i++)
			filler(buf, names[i], NULL, 0, 0);
		bf_strv_free(names);
		break;
	case NODE_NEW_DIR:
		fs_pending_each(fill_pending, &fc);
		break;
	default:
		for (i = 0; fs_bottle_files[i].name; i++)
			filler(buf, fs_bottle_files[i].name, NULL, 0, 0);
		filler(buf, "exec", NULL, 0, 0);
		if (bf_registry_has_workspace_view(fs_ctx()->reg, p.name))
			filler(buf, "workspace", NULL, 0, 0);
		if (bf_registry_has_git(fs_ctx()->reg, p.name))
			filler(buf, "git", NULL, 0, 0);
		filler(buf, "check", NULL, 0, 0);
		if (bf_registry_has_queue(fs_ctx()->reg, p.name, BF_QUEUE_APPROVALS))
			filler(buf, "pending", NULL, 0, 0);
		if (bf_registry_has_queue(fs_ctx()->reg, p.name, BF_QUEUE_QUESTIONS))
			filler(buf, "requests", NULL, 0, 0);
	}
	return 0;
}

static struct handle *handle_new(enum handle_kind kind, const char *name)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	h->kind = kind;
	strlcpy(h->name, name, sizeof(h->name));
	/* Who commits a manifest (its workspace is checked as them); the
	 * groups cost a read of /proc, so only for those. */
	if (kind == HANDLE_NEW || kind == HANDLE_MANIFEST || kind == HANDLE_ALLOW)
		h->who = caller();
	return h;
}

static void handle_free(struct handle *h)
{
	pthread_mutex_destroy(&h->lock);
	if (h->fd >= 0)
		close(h->fd);
	if (h->session)
		bf_exec_unref(h->session);
	bf_buf_free(&h->buf);
	free(h->workspace_rel);
	free(h);
}

/* Every file of the tree is read and written without the page cache:
 * contents change behind the kernel's back, and streams grow. */
static int attach_handle(struct fuse_file_info *fi, struct handle *h)
{
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	/* close(2) waits for a flush only where it commits a manifest. */
	fi->noflush = h->kind != HANDLE_NEW && h->kind != HANDLE_MANIFEST && h->kind != HANDLE_ALLOW;
	return 0;
}

/* A text replaced whole when closed: NAME/manifest, NAME/allow. Writes
 * start from the current text (so >> appends) unless O_TRUNC. */
static int open_manifest_for_write(const struct fs_path *p, struct fuse_file_info *fi,
				   enum handle_kind kind)
{
	struct handle *h;

	if (!may_write())
		return -EACCES;
	h = handle_new(kind, p->name);
	if (!h)
		return -ENOMEM;
	/* O_TRUNC empties the buffer, but only a write makes a commit: the
	 * shell closes a dup of the fd before `echo` writes. */
	if (!(fi->flags & O_TRUNC)) {
		int r = render(p, &h->buf);

		if (r < 0) {
			handle_free(h);
			return r;
		}
	}
	return attach_handle(fi, h);
}

static int open_ctl(const struct fs_path *p, struct fuse_file_info *fi)
{
	struct handle *h;

	if (!may_write())
		return -EACCES;
	if (!bf_registry_exists(fs_ctx()->reg, p->name))
		return -ENOENT;
	h = handle_new(HANDLE_CTL, p->name);
	if (!h)
		return -ENOMEM;
	return attach_handle(fi, h);
}

static int open_log(const struct fs_path *p, struct fuse_file_info *fi)
{
	char path[4096];
	struct handle *h;
	int r = bf_registry_file_path(fs_ctx()->reg, p->name, p->file, path, sizeof(path));

	if (r < 0)
		return r;
	h = handle_new(HANDLE_LOG, p->name);
	if (!h)
		return -ENOMEM;
	strlcpy(h->path, path, sizeof(h->path));
	h->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (h->fd < 0 && errno != ENOENT) {
		r = -errno;
		handle_free(h);
		return r;
	}
	return attach_handle(fi, h);
}

static bool interrupted(void)
{
	return fuse_req_interrupted(current) != 0;
}

static int open_session_file(const struct fs_path *p, struct fuse_file_info *fi)
{
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	enum fs_session_file f = p->session_file;
	struct handle *h;
	int r = 0;

	if (writing && f != SESSION_CMD && f != SESSION_STDIN && f != SESSION_CTL)
		return -EACCES;
	if (!writing && (f == SESSION_STDIN || f == SESSION_CTL))
		return -EACCES;
	if (writing && !may_write())
		return -EACCES;
	h = handle_new(HANDLE_SESSION, p->name);
	if (!h)
		return -ENOMEM;
	h->session = bf_registry_exec_get(fs_ctx()->reg, p->name, p->session);
	h->session_file = f;
	if (!h->session) {
		handle_free(h);
		return -ENOENT;
	}
	/* Snapshots at open; streams and wait are read as they go. */
	if (f == SESSION_STATUS)
		r = bf_exec_status(h->session, false, NULL, &h->buf);
	else if (f == SESSION_CMD && !writing)
		r = bf_exec_cmd(h->session, &h->buf);
	if (r < 0) {
		handle_free(h);
		return r;
	}
	return attach_handle(fi, h);
}

/* exec/run: each open is a session of its own: writes bring the command,
 * the first read starts it, and reads give its output and a status line. */
static int open_oneshot(const struct fs_path *p, struct fuse_file_info *fi)
{
	struct bf_error err = { 0 };
	struct handle *h;

	if (!may_write())
		return -EACCES;
	h = handle_new(HANDLE_SESSION, p->name);
	if (!h)
		return -ENOMEM;
	h->session = bf_registry_exec_oneshot(fs_ctx()->reg, p->name, &err);
	if (!h->session) {
		handle_free(h);
		return -(err.code ? err.code : ENOENT);
	}
	h->session_file = SESSION_STDOUT;
	h->oneshot = true;
	fi->nonseekable = 1;
	return attach_handle(fi, h);
}

/* The file is looked up again at each read (fs_workspace.h). */
static int open_workspace(const struct fs_path *p, struct fuse_file_info *fi)
{
	struct handle *h;
	int r;

	if (!view_exists(p))
		return -ENOENT;
	r = fs_workspace_open(fs_ctx()->reg, p->view, p->name, p->workspace_rel, fi->flags);
	if (r < 0)
		return r;
	h = handle_new(HANDLE_WORKSPACE, p->name);
	if (!h)
		return -ENOMEM;
	h->view = p->view;
	h->workspace_rel = strdup(p->workspace_rel);
	if (!h->workspace_rel) {
		handle_free(h);
		return -ENOMEM;
	}
	return attach_handle(fi, h);
}

int bf_open(const char *path, struct fuse_file_info *fi)
{
	struct fs_path p;
	struct handle *h;
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	int r;

	fs_path_parse(path, &p);
	switch (p.node) {
	case NODE_ROOT:
	case NODE_NEW_DIR:
	case NODE_BOTTLE_DIR:
		return -EISDIR;
	case NODE_NEW_FILE:
		/* Someone else is writing this name right now. */
		return fs_pending_has(p.name) ? -EBUSY : -ENOENT;
	case NODE_EXEC_RUN:
		return open_oneshot(&p, fi);
	case NODE_WORKSPACE:
		return open_workspace(&p, fi);
	case NODE_CHECK_DIR:
	case NODE_PENDING_DIR:
	case NODE_GIT_DIR:
	case NODE_REQUESTS_DIR:
	case NODE_REQUEST_DIR:
		return -EISDIR;
	case NODE_REQUESTS_LOG:
		return writing ? -EACCES : open_log(&p, fi);
	case NODE_REQUEST_ANSWER:
		if (!writing)
			return -EACCES;
		if (!may_write())
			return -EACCES;
		if (!bf_registry_queue_has(fs_ctx()->reg, p.name, BF_QUEUE_QUESTIONS, p.key))
			return -ENOENT;
		h = handle_new(HANDLE_ANSWER, p.name);
		if (!h)
			return -ENOMEM;
		strlcpy(h->path, p.key, sizeof(h->path));
		return attach_handle(fi, h);
	case NODE_PENDING_FILE:
		if (writing) {
			if (!may_write())
				return -EACCES;
			if (!bf_registry_queue_has(fs_ctx()->reg, p.name, BF_QUEUE_APPROVALS, p.key))
				return -ENOENT;
			h = handle_new(HANDLE_PENDING, p.name);
			if (!h)
				return -ENOMEM;
			strlcpy(h->path, p.key, sizeof(h->path));
			return attach_handle(fi, h);
		}
		/* fall through */
	case NODE_CHECK_FILE:
	case NODE_REQUEST_QUESTION:
		if (writing)
			return -EACCES;
		h = handle_new(HANDLE_SNAPSHOT, p.name);
		if (!h)
			return -ENOMEM;
		r = render(&p, &h->buf);
		if (r < 0) {
			handle_free(h);
			return r;
		}
		return attach_handle(fi, h);
	case NODE_SESSION_FILE:
		return open_session_file(&p, fi);
	case NODE_EXEC_DIR:
	case NODE_SESSION_DIR:
		return -EISDIR;
	case NODE_BOTTLE_FILE:
		if (p.file == BF_FILE_MANIFEST && writing)
			return open_manifest_for_write(&p, fi, HANDLE_MANIFEST);
		if (p.file == BF_FILE_CTL && writing)
			return open_ctl(&p, fi);
		if (is_real_file(&p))
			return writing ? -EACCES : open_log(&p, fi);
		if (p.file == BF_FILE_ALLOW && writing)
			return open_manifest_for_write(&p, fi, HANDLE_ALLOW);
		/* fall through */
	case NODE_ERRORS:
	case NODE_BACKENDS:
	case NODE_CLEANUP:
		if (writing && p.node == NODE_CLEANUP) {
			if (!may_write())
				return -EACCES;
			h = handle_new(HANDLE_CLEANUP, "");
			return h ? attach_handle(fi, h) : -ENOMEM;
		}
		if (writing)
			return -EACCES;
		h = handle_new(HANDLE_SNAPSHOT, p.name);
		if (!h)
			return -ENOMEM;
		if (fs_cache_keeps_pages(path)) {
			/* Rendered by the reads; the bottle must exist now. */
			if (!bf_registry_exists(fs_ctx()->reg, p.name)) {
				handle_free(h);
				return -ENOENT;
			}
			h->fresh = true;
			h->file = p.file;
			attach_handle(fi, h);
			fi->direct_io = 0;
			fi->keep_cache = 1;
			return 0;
		}
		r = render(&p, &h->buf);
		if (r < 0) {
			handle_free(h);
			return r;
		}
		return attach_handle(fi, h);
	default:
		return -ENOENT;
	}
}

/* The name after "new/", even one too long for fs_path to keep. */
static const char *new_file_name(const char *path)
{
	if (strncmp(path, "/new/", 5) != 0 || strchr(path + 5, '/'))
		return NULL;
	return path + 5;
}

int bf_readlink(const char *path, char *buf, size_t size)
{
	struct fs_path p;

	fs_path_parse(path, &p);
	if (p.node != NODE_WORKSPACE)
		return -EINVAL;
	if (!view_exists(&p))
		return -ENOENT;
	return fs_workspace_readlink(fs_ctx()->reg, p.view, p.name, p.workspace_rel, buf, size);
}

/* NAME/workspace/ is a view: nothing in it is made, changed or removed. */
static bool in_workspace(const char *path)
{
	struct fs_path p;

	fs_path_parse(path, &p);
	return p.node == NODE_WORKSPACE;
}

bool bf_read_only(const char *path)
{
	return in_workspace(path);
}

int bf_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct bf_registry *reg = fs_ctx()->reg;
	const char *name = new_file_name(path);
	struct handle *h;

	(void)mode;
	if (!name)
		return in_workspace(path) ? -EROFS : -EACCES;   /* files are created only in new/ */
	if (!may_write())
		return -EACCES;
	if (!bf_name_valid(name)) {
		bf_registry_report(reg, NULL,
				   "new/%s: bad bottle name: use 1-63 of [a-z0-9_.-], starting with a letter or digit (not new, errors, backends, cleanup)",
				   name);
		return -EINVAL;
	}
	if (bf_registry_exists(reg, name)) {
		bf_registry_report(reg, name, "new/%s: a bottle named \"%s\" already exists", name, name);
		return -EEXIST;
	}
	if (!fs_pending_add(name)) {
		bf_registry_report(reg, name, "new/%s: already being written by another process", name);
		return -EBUSY;
	}
	h = handle_new(HANDLE_NEW, name);
	if (!h) {
		fs_pending_remove(name);
		return -ENOMEM;
	}
	return attach_handle(fi, h);
}

/* Serves a slice of the text rendered or collected in the handle. */
static int read_buffer(const struct handle *h, char *buf, size_t size, off_t off)
{
	if (off < 0 || (size_t)off >= h->buf.len)
		return 0;
	if (size > h->buf.len - (size_t)off)
		size = h->buf.len - (size_t)off;
	memcpy(buf, h->buf.data + off, size);
	return (int)size;
}

/* When `egress` rotates, an open reader moves on to the new file: it is
 * shorter than where the reader was, which `tail -f` takes for a
 * truncation and reads the new file from its start. */
static bool follow_rotation(struct handle *h)
{
	struct stat now, mine;
	int fd;

	if (stat(h->path, &now) < 0)
		return false;
	if (h->fd >= 0) {
		if (fstat(h->fd, &mine) < 0 || (mine.st_ino == now.st_ino && mine.st_dev == now.st_dev))
			return false;
	}
	fd = open(h->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (h->fd >= 0)
		close(h->fd);
	h->fd = fd;
	return true;
}

static int read_log(struct handle *h, char *buf, size_t size, off_t off)
{
	ssize_t n = 0;

	pthread_mutex_lock(&h->lock);
	for (int tries = 0; tries < 2; tries++) {
		if (h->fd >= 0)
			n = pread(h->fd, buf, size, off);
		if (n != 0 || !follow_rotation(h))
			break;
	}
	pthread_mutex_unlock(&h->lock);
	return n < 0 ? -errno : (int)n;
}

/* exec/run: the first read starts the command written so far. */
static int start_oneshot(struct handle *h)
{
	struct bf_error err = { 0 };
	int r;

	if (!h->oneshot || bf_exec_started(h->session))
		return 0;
	r = bf_registry_exec_start(fs_ctx()->reg, h->name, h->session,
				   h->buf.data ? h->buf.data : "", h->buf.len, &err);
	if (r < 0)
		return r;
	/* The one-shot form has no stdin: the command reads EOF. */
	bf_exec_close_stdin(h->session);
	return 0;
}

static int read_session(struct handle *h, char *buf, size_t size, off_t off)
{
	ssize_t n;

	int r = start_oneshot(h);

	if (r < 0)
		return r;
	switch (h->session_file) {
	case SESSION_STDOUT:
	case SESSION_STDERR:
		n = bf_exec_read(h->session, h->session_file == SESSION_STDOUT ? BF_EXEC_STDOUT
									 : BF_EXEC_STDERR,
				 buf, size, h->oneshot ? h->read_pos : off, interrupted);
		if (n > 0)
			h->read_pos += n;
		return (int)n;
	case SESSION_WAIT:
		/* Blocks until the command ends, then reads like a file. */
		if (!h->buf.data && (r = bf_exec_status(h->session, true, interrupted, &h->buf)) < 0)
			return r;
		break;
	default:
		break;
	}
	return read_buffer(h, buf, size, off);
}

int bf_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	(void)path;
	if (h->kind == HANDLE_NEW || h->kind == HANDLE_CTL || h->kind == HANDLE_CLEANUP ||
	    h->kind == HANDLE_PENDING || h->kind == HANDLE_ANSWER)
		return -EBADF;
	if (h->kind == HANDLE_LOG)
		return read_log(h, buf, size, off);
	if (h->kind == HANDLE_SESSION)
		return read_session(h, buf, size, off);
	if (h->kind == HANDLE_WORKSPACE)
		return fs_workspace_read(fs_ctx()->reg, h->view, h->name, h->workspace_rel, buf, size, off);
	if (h->fresh) {
		int r;

		bf_buf_free(&h->buf);
		r = bf_registry_render(fs_ctx()->reg, h->name, h->file, &h->buf);
		if (r < 0)
			return r;
	}
	return read_buffer(h, buf, size, off);
}

/* One write is one control message; its error is the write's. */
static int write_ctl(struct handle *h, const char *data, size_t size)
{
	struct bf_error err = { 0 };
	int r = bf_registry_ctl(fs_ctx()->reg, h->name, data, size, &err);

	return r < 0 ? r : (int)size;
}

static int write_session(struct handle *h, const char *data, size_t size)
{
	struct bf_registry *reg = fs_ctx()->reg;
	struct bf_error err = { 0 };
	int r;

	if (h->oneshot) {
		/* exec/run: the command may come in several writes (a shell's
		 * printf splits long ones); it starts at the first read. */
		if (bf_exec_started(h->session))
			return -EBUSY;
		if (h->buf.len + size > BF_MANIFEST_MAX)
			return -EFBIG;
		bf_buf_append(&h->buf, data, size);
		return h->buf.failed ? -ENOMEM : (int)size;
	}
	switch (h->session_file) {
	case SESSION_CMD:
		r = bf_registry_exec_start(reg, h->name, h->session, data, size, &err);
		return r < 0 ? r : (int)size;
	case SESSION_STDIN:
		return (int)bf_exec_write_stdin(h->session, data, size);
	case SESSION_CTL:
		r = bf_registry_exec_ctl(reg, h->name, h->session, data, size, &err);
		return r < 0 ? r : (int)size;
	default:
		return -EBADF;
	}
}

int bf_write(const char *path, const char *data, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	const char *what = h->kind == HANDLE_NEW ? "new/" : "";
	size_t end;

	(void)path;
	if (h->kind == HANDLE_SNAPSHOT || h->kind == HANDLE_LOG || h->kind == HANDLE_WORKSPACE)
		return -EBADF;
	if (h->refused)
		return -EINVAL;
	if (h->kind == HANDLE_CTL)
		return write_ctl(h, data, size);
	if (h->kind == HANDLE_PENDING) {
		struct bf_error err = { 0 };
		int r = bf_registry_pending_decide(fs_ctx()->reg, h->name, h->path, data, size, &err);

		return r < 0 ? r : (int)size;
	}
	if (h->kind == HANDLE_ANSWER) {
		/* One write is the answer: the question is gone after it. */
		struct bf_error err = { 0 };
		int r = bf_registry_request_decide(fs_ctx()->reg, h->name, h->path, data, size, &err);

		return r < 0 ? r : (int)size;
	}
	if (h->kind == HANDLE_CLEANUP) {
		struct bf_error err = { 0 };
		int r = bf_registry_cleanup_ctl(fs_ctx()->reg, data, size, &err);

		return r < 0 ? r : (int)size;
	}
	if (h->kind == HANDLE_SESSION)
		return write_session(h, data, size);
	if (off < 0 || (size_t)off > BF_MANIFEST_MAX || size > BF_MANIFEST_MAX - (size_t)off) {
		bf_registry_report(fs_ctx()->reg, h->name, "%s%s%s: %s is larger than %d bytes", what,
				   h->name,
				   h->kind == HANDLE_NEW ? "" : h->kind == HANDLE_ALLOW ? "/allow" : "/manifest",
				   h->kind == HANDLE_ALLOW ? "allowlist" : "manifest", BF_MANIFEST_MAX);
		h->too_big = true;
		return -EFBIG;
	}
	end = (size_t)off + size;
	/* A hole left by seeking is zeros, refused later as NUL bytes. */
	if (end > h->buf.len) {
		bf_buf_set_len(&h->buf, end);
		if (h->buf.failed)
			return -ENOMEM;
	}
	memcpy(h->buf.data + off, data, size);
	h->dirty = true;
	if (h->kind == HANDLE_ALLOW) {
		struct bf_error err = { 0 };
		int r = bf_registry_allow_check(fs_ctx()->reg, h->name, h->buf.data, h->buf.len, &err);

		if (r < 0) {
			h->result = r;
			h->dirty = false;   /* refused: nothing of it is applied */
			h->refused = true;
			return r;
		}
	}
	return (int)size;
}

/* Every close(2) of a descriptor flushes, including the close of a
 * shell's dup: so each flush commits what has been written so far, and
 * the first commit that holds a valid manifest creates the bottle; later
 * ones re-plan it. The result reaches that close(2). */
int bf_flush(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	struct bf_registry *reg = fs_ctx()->reg;
	struct bf_error err = { 0 };
	const char *text = h->buf.data ? h->buf.data : "";

	(void)path;
	if (h->kind != HANDLE_NEW && h->kind != HANDLE_MANIFEST && h->kind != HANDLE_ALLOW)
		return 0;
	if (h->too_big)
		return -EFBIG;      /* refused and reported by write */
	if (h->refused)
		return -EINVAL;
	if (!h->dirty)
		return h->result;
	h->dirty = false;
	if (h->kind == HANDLE_ALLOW) {
		h->result = bf_registry_allow_set(reg, h->name, text, h->buf.len, &err);
	} else if (h->kind == HANDLE_NEW && !h->created) {
		h->result = bf_registry_create(reg, h->name, text, h->buf.len, &h->who, &err);
		h->created = h->result == 0;
	} else {
		h->result = bf_registry_update(reg, h->name, text, h->buf.len, &h->who, &err);
	}
	return h->result;
}

int bf_release(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	(void)path;
	if (h->kind == HANDLE_SESSION && h->session_file == SESSION_STDIN)
		bf_exec_stdin_released(h->session);
	if (h->oneshot)
		bf_exec_kill_wait(h->session);
	if (h->kind == HANDLE_NEW) {
		if (!h->created && !h->too_big && h->result == 0)
			bf_registry_report(fs_ctx()->reg, h->name,
					   "new/%s: closed without a manifest; no bottle created", h->name);
		fs_pending_remove(h->name);
	}
	handle_free(h);
	return 0;
}

/* `echo x > file` truncates; manifests get O_TRUNC at open (atomic_o_trunc)
 * so a separate truncate is only the shell's habit and changes nothing. */
int bf_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct handle *h = fi ? handle_of(fi) : NULL;

	if (path && in_workspace(path))
		return -EROFS;
	if (h && (h->kind == HANDLE_NEW || h->kind == HANDLE_MANIFEST || h->kind == HANDLE_ALLOW) &&
	    size == 0) {
		bf_buf_set_len(&h->buf, 0);
		h->dirty = true;
	}
	return 0;
}

int bf_mkdir(const char *path, mode_t mode)
{
	struct fs_path p;
	struct bf_error err = { 0 };

	(void)mode;
	fs_path_parse(path, &p);
	if (p.node == NODE_WORKSPACE)
		return -EROFS;
	if (p.node != NODE_SESSION_DIR)
		return p.node == NODE_EXEC_RUN ? -EEXIST : -EPERM;  /* bottles come from new/NAME */
	if (!may_write())
		return -EACCES;
	return bf_registry_exec_create(fs_ctx()->reg, p.name, p.session, &err);
}

int bf_rmdir(const char *path)
{
	struct fs_path p;
	struct bf_error err = { 0 };

	fs_path_parse(path, &p);
	if (p.node == NODE_SESSION_DIR) {
		if (!may_write())
			return -EACCES;
		return bf_registry_exec_remove(fs_ctx()->reg, p.name, p.session, &err);
	}
	if (p.node == NODE_REQUEST_DIR) {
		/* rmdir declines the question. */
		if (!may_write())
			return -EACCES;
		return bf_registry_request_decide(fs_ctx()->reg, p.name, p.key, NULL, 0, &err);
	}
	if (p.node == NODE_WORKSPACE)
		return -EROFS;
	if (p.node != NODE_BOTTLE_DIR)
		return p.node == NODE_NONE ? -ENOENT : -EPERM;
	if (!may_write())
		return -EACCES;
	return bf_registry_remove(fs_ctx()->reg, p.name, &err);
}

int bf_unlink(const char *path)
{
	struct fs_path p;

	fs_path_parse(path, &p);
	if (p.node == NODE_NEW_FILE && fs_pending_has(p.name))
		return -EBUSY;
	if (p.node == NODE_PENDING_FILE) {
		struct bf_error err = { 0 };

		if (!may_write())
			return -EACCES;
		return bf_registry_pending_decide(fs_ctx()->reg, p.name, p.key, NULL, 0, &err);
	}
	if (p.node == NODE_WORKSPACE)
		return -EROFS;
	return p.node == NODE_NONE ? -ENOENT : -EPERM;
}

ssize_t fs_read_span(struct fuse_file_info *fi, size_t size, off_t off, int *fd, off_t *at,
		     struct fs_span *span)
{
	struct handle *h = handle_of(fi);
	enum bf_exec_stream stream;
	ssize_t n;

	if (h->kind != HANDLE_SESSION ||
	    (h->session_file != SESSION_STDOUT && h->session_file != SESSION_STDERR))
		return -EAGAIN;
	stream = h->session_file == SESSION_STDOUT ? BF_EXEC_STDOUT : BF_EXEC_STDERR;
	n = bf_exec_read_span(h->session, stream, size, h->oneshot ? h->read_pos : off, fd, at);
	/* Taken before the reply: the reader's next read may come first. */
	if (n > 0) {
		h->read_pos += n;
		/* Once replied, the handle may be released at once: the span
		 * keeps the session (and so its storage fd) itself. */
		bf_exec_ref(h->session);
		*span = (struct fs_span){ h->session, stream };
	}
	return n;
}

void fs_read_span_done(struct fs_span *span)
{
	bf_exec_read_span_done(span->session, span->stream);
	bf_exec_unref(span->session);
}

int fs_read_would_wait(struct fuse_file_info *fi, off_t off)
{
	struct handle *h = handle_of(fi);

	int r;

	if (h->kind != HANDLE_SESSION)
		return 0;
	r = start_oneshot(h);
	if (r < 0)
		return r;
	switch (h->session_file) {
	case SESSION_STDOUT:
		return !bf_exec_read_ready(h->session, BF_EXEC_STDOUT, h->oneshot ? h->read_pos : off);
	case SESSION_STDERR:
		return !bf_exec_read_ready(h->session, BF_EXEC_STDERR, off);
	case SESSION_WAIT:
		return !h->buf.data && !bf_exec_ended(h->session);
	default:
		return 0;
	}
}
