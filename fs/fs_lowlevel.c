/* The low-level FUSE session: inodes are names for paths, and each
 * request is passed to the path operations of fs_ops.c. What the kernel
 * may cache, and how it learns of changes, is fs_cache.c's.
 *
 * What it adds over the high-level API: a read that would wait for a
 * command (its output, its end) does not hold a worker thread. It is put
 * aside with its request and answered by one thread when the session
 * changes, or with EINTR when the reader is interrupted (Ctrl-C, kill).
 * A thousand blocked readers cost a list entry each, not a thread. */
#include "fs.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <bsd/string.h>

#include "fs_cache.h"
#include "fs_ops.h"
#include "../backend/exec_session.h"

/* Bottle paths are short; NAME/workspace/ goes as deep as the copy. */
#define MAX_PATH (PATH_MAX + 128)

/* --- inodes: one per path the kernel has looked up, until it forgets */

struct inode {
	fuse_ino_t ino;
	uint64_t nlookup;
	struct inode *next;     /* hash chain by ino */
	struct inode *next_path;
	char path[];
};

#define BUCKETS 4096

static pthread_mutex_t inodes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct inode *by_ino[BUCKETS], *by_path[BUCKETS];
static fuse_ino_t next_ino = FUSE_ROOT_ID + 1;

static size_t hash_path(const char *p)
{
	size_t h = 1469598103934665603ULL;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h % BUCKETS;
}

/* The path of an inode, copied out; false if the kernel forgot it. */
static bool path_of(fuse_ino_t ino, char *out, size_t len)
{
	struct inode *n;

	if (ino == FUSE_ROOT_ID) {
		strlcpy(out, "/", len);
		return true;
	}
	pthread_mutex_lock(&inodes_lock);
	for (n = by_ino[ino % BUCKETS]; n && n->ino != ino; n = n->next)
		;
	if (n)
		strlcpy(out, n->path, len);
	pthread_mutex_unlock(&inodes_lock);
	return n != NULL;
}

/* The inode for `path`, made if new, with one more lookup. */
static fuse_ino_t remember(const char *path)
{
	size_t hp = hash_path(path);
	struct inode *n;

	if (strcmp(path, "/") == 0)
		return FUSE_ROOT_ID;
	pthread_mutex_lock(&inodes_lock);
	for (n = by_path[hp]; n && strcmp(n->path, path) != 0; n = n->next_path)
		;
	if (!n) {
		n = malloc(sizeof(*n) + strlen(path) + 1);
		if (!n) {
			pthread_mutex_unlock(&inodes_lock);
			return 0;
		}
		strcpy(n->path, path);
		n->ino = next_ino++;
		n->nlookup = 0;
		n->next = by_ino[n->ino % BUCKETS];
		by_ino[n->ino % BUCKETS] = n;
		n->next_path = by_path[hp];
		by_path[hp] = n;
	}
	n->nlookup++;
	pthread_mutex_unlock(&inodes_lock);
	return n->ino;
}

/* The inode the kernel knows `path` by, or 0 (for fs_cache.c). */
static fuse_ino_t inode_of(const char *path)
{
	struct inode *n;
	fuse_ino_t ino = 0;

	pthread_mutex_lock(&inodes_lock);
	for (n = by_path[hash_path(path)]; n && strcmp(n->path, path) != 0; n = n->next_path)
		;
	if (n)
		ino = n->ino;
	pthread_mutex_unlock(&inodes_lock);
	return ino;
}

static void forget_one(fuse_ino_t ino, uint64_t count)
{
	struct inode **pp, *n;

	if (ino == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&inodes_lock);
	for (pp = &by_ino[ino % BUCKETS]; *pp && (*pp)->ino != ino; pp = &(*pp)->next)
		;
	n = *pp;
	if (n && (n->nlookup -= count < n->nlookup ? count : n->nlookup) == 0) {
		struct inode **pq = &by_path[hash_path(n->path)];

		*pp = n->next;
		while (*pq && *pq != n)
			pq = &(*pq)->next_path;
		if (*pq)
			*pq = n->next_path;
		free(n);
	}
	pthread_mutex_unlock(&inodes_lock);
}

static bool child_path(fuse_ino_t parent, const char *name, char *out, size_t len)
{
	char dir[MAX_PATH];

	if (!path_of(parent, dir, sizeof(dir)))
		return false;
	return (size_t)snprintf(out, len, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name) < len;
}

/* --- replies */

static void reply_entry(fuse_req_t req, const char *path, struct fuse_file_info *fi)
{
	struct fuse_entry_param e = { 0 };
	int r;

	fs_ops_begin(req);
	r = bf_getattr(path, &e.attr, fi);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	e.ino = remember(path);
	if (!e.ino) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	e.attr.st_ino = e.ino;
	fs_cache_timeouts(path, &e.entry_timeout, &e.attr_timeout);
	if (fi) {
		if (fuse_reply_create(req, &e, fi) != 0)
			forget_one(e.ino, 1);
	} else if (fuse_reply_entry(req, &e) != 0) {
		forget_one(e.ino, 1);
	}
}

#define WITH_PATH(req, ino, path)                               \
	char path[MAX_PATH];                                    \
	if (!path_of(ino, path, sizeof(path))) {                \
		fuse_reply_err(req, ENOENT);                    \
		return;                                         \
	}                                                       \
	fs_ops_begin(req)

/* The path of NAME in PARENT, with the request named for fs_ops.c. */
#define WITH_CHILD(req, parent, name, path)                             \
	char path[MAX_PATH];                                            \
	if (!child_path(parent, name, path, sizeof(path))) {            \
		fuse_reply_err(req, ENAMETOOLONG);                      \
		return;                                                 \
	}                                                               \
	fs_ops_begin(req)

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	WITH_CHILD(req, parent, name, path);
	reply_entry(req, path, NULL);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char target[PATH_MAX];
	int r;
	WITH_PATH(req, ino, path);

	r = bf_readlink(path, target, sizeof(target));
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, target);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		forget_one(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/* The attributes of `path` as inode `ino`, or the error. */
static void reply_attr(fuse_req_t req, fuse_ino_t ino, const char *path,
		       struct fuse_file_info *fi)
{
	struct stat st;
	double entry_timeout, attr_timeout;
	int r = bf_getattr(path, &st, fi);

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	st.st_ino = ino;
	fs_cache_timeouts(path, &entry_timeout, &attr_timeout);
	fuse_reply_attr(req, &st, attr_timeout);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	WITH_PATH(req, ino, path);
	reply_attr(req, ino, path, fi);
}

/* `echo x > file` truncates; `touch` sets times: both harmless here. */
static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	int r = 0;
	WITH_PATH(req, ino, path);

	if (bf_read_only(path))
		r = -EROFS;
	else if (to_set & FUSE_SET_ATTR_SIZE)
		r = bf_truncate(path, attr->st_size, fi);
	fs_cache_sync();
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_attr(req, ino, path, fi);
}

/* --- directories: listed whole at opendir, served from that list */

struct dir_list {
	char **names;
	size_t n, cap;
};

static int collect(void *buf, const char *name, const struct stat *st, off_t off,
		   enum fuse_fill_dir_flags flags)
{
	struct dir_list *d = buf;

	(void)st;
	(void)off;
	(void)flags;
	if (d->n == d->cap) {
		char **more = reallocarray(d->names, d->cap * 2 + 16, sizeof(*more));

		if (!more)
			return 1;
		d->names = more;
		d->cap = d->cap * 2 + 16;
	}
	d->names[d->n] = strdup(name);
	if (!d->names[d->n])
		return 1;
	d->n++;
	return 0;
}

static void dir_free(struct dir_list *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_list *d;
	int r;
	WITH_PATH(req, ino, path);

	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = bf_readdir(path, d, collect, 0, NULL, 0);
	if (r < 0) {
		dir_free(d);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		dir_free(d);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dir_list *d = (struct dir_list *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t used = 0, i;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = off < 0 ? 0 : (size_t)off; i < d->n; i++) {
		/* Any inode but 0 (readdir(3) skips those): lookup gives the
		 * real one. */
		struct stat st = { .st_ino = i + 2 };
		size_t need = fuse_add_direntry(req, buf + used, size - used, d->names[i], &st,
						(off_t)(i + 1));

		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	dir_free((struct dir_list *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* --- files */

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int r;
	WITH_PATH(req, ino, path);

	r = bf_open(path, fi);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (fuse_reply_open(req, fi) != 0)
		bf_release(path, fi);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	int r;
	WITH_CHILD(req, parent, name, path);

	r = bf_create(path, mode, fi);
	fs_cache_sync();
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	reply_entry(req, path, fi);
}

/* Names are made only by new/, mkdir exec/S and rmdir: renames, links
 * and special files are refused (EROFS in a read-only view). */
static void ll_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	(void)target;
	WITH_CHILD(req, parent, name, path);
	fuse_reply_err(req, bf_read_only(path) ? EROFS : EPERM);
}

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)mode;
	(void)rdev;
	WITH_CHILD(req, parent, name, path);
	fuse_reply_err(req, bf_read_only(path) ? EROFS : EPERM);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	(void)ino;
	WITH_CHILD(req, parent, name, path);
	fuse_reply_err(req, bf_read_only(path) ? EROFS : EPERM);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	char to[MAX_PATH];

	(void)flags;
	WITH_CHILD(req, parent, name, path);
	if (!child_path(newparent, newname, to, sizeof(to))) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	fuse_reply_err(req, bf_read_only(path) || bf_read_only(to) ? EROFS : EPERM);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	int r;
	WITH_CHILD(req, parent, name, path);

	r = bf_mkdir(path, mode);
	fs_cache_sync();
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	reply_entry(req, path, NULL);
}

static void ll_remove(fuse_req_t req, fuse_ino_t parent, const char *name, int (*op)(const char *))
{
	int r;
	WITH_CHILD(req, parent, name, path);

	r = op(path);
	fs_cache_sync();
	fuse_reply_err(req, -r);
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	ll_remove(req, parent, name, bf_rmdir);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	ll_remove(req, parent, name, bf_unlink);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	int r;

	(void)ino;
	fs_ops_begin(req);
	r = bf_write(NULL, buf, size, off, fi);
	fs_cache_sync();
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, (size_t)r);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	int r;

	fs_ops_begin(req);
	r = bf_flush(NULL, fi);
	fs_cache_sync();
	fuse_reply_err(req, -r);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_ops_begin(req);
	bf_release(NULL, fi);
	fs_cache_sync();
	fuse_reply_err(req, 0);
}

/* --- reads, and the reads put aside */

struct waiting_read {
	uint64_t id;
	fuse_req_t req;
	struct fuse_file_info fi;
	size_t size;
	off_t off;
	bool interrupted;
	/* Its interrupt callback is being registered: nobody else may answer
	 * (and so free) the request until that call has returned. */
	bool registering;
	struct waiting_read *next;
};

static pthread_mutex_t waiting_lock = PTHREAD_MUTEX_INITIALIZER;
static struct waiting_read *waiting;
static uint64_t next_wait_id = 1;
static int wake_fd = -1;
static pthread_t answerer;
static bool answerer_running, stopping;

static void wake(void)
{
	uint64_t one = 1;

	if (wake_fd >= 0 && write(wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: a wake-up is pending anyway */
	}
}

/* Runs the read and replies; only for reads that will not wait. A
 * command's output goes from its storage to the reader by splice(2),
 * not through a buffer of ours. */
static void answer(fuse_req_t req, struct fuse_file_info *fi, size_t size, off_t off)
{
	char *buf;
	int n, fd = -1;
	off_t at = 0;
	ssize_t span;
	struct fs_span held;

	fs_ops_begin(req);
	span = fs_read_span(fi, size, off, &fd, &at, &held);
	if (span >= 0) {
		struct fuse_bufvec data = FUSE_BUFVEC_INIT((size_t)span);

		data.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
		data.buf[0].fd = fd;
		data.buf[0].pos = at;
		fuse_reply_data(req, &data, FUSE_BUF_SPLICE_MOVE);
		if (span > 0)
			fs_read_span_done(&held);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_ops_begin(req);
	n = bf_read(NULL, buf, size, off, fi);
	if (n < 0)
		fuse_reply_err(req, -n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

/* The kernel says the reader was interrupted: found by id, since the
 * entry may be answered and gone by now. */
static void on_interrupt(fuse_req_t req, void *data)
{
	uint64_t id = (uint64_t)(uintptr_t)data;
	struct waiting_read *w;

	(void)req;
	pthread_mutex_lock(&waiting_lock);
	for (w = waiting; w; w = w->next)
		if (w->id == id)
			w->interrupted = true;
	pthread_mutex_unlock(&waiting_lock);
	wake();
}

/* Answers the put-aside reads that would no longer wait. Any thread may:
 * the answerer on a change, a pump right after adding output. */
static void answer_ready(void)
{
	struct waiting_read *ready = NULL, **pp, *w;

	pthread_mutex_lock(&waiting_lock);
	for (pp = &waiting; (w = *pp);) {
		int r;

		if (w->registering) {
			pp = &w->next;
			continue;
		}
		fs_ops_begin(w->req);
		r = w->interrupted ? 0 : fs_read_would_wait(&w->fi, w->off);
		if (r == 1) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->next = ready;
		ready = w;
	}
	pthread_mutex_unlock(&waiting_lock);
	while ((w = ready)) {
		ready = w->next;
		if (w->interrupted)
			fuse_reply_err(w->req, EINTR);
		else
			answer(w->req, &w->fi, w->size, w->off);
		free(w);
	}
}

static void *answer_waiting(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p = { wake_fd, POLLIN, 0 };
		uint64_t count;
		bool stop;

		/* A slice, too: nothing is missed if a change came unsaid. */
		if (poll(&p, 1, 1000) > 0 && read(wake_fd, &count, sizeof(count)) < 0) {
			/* drained by another read */
		}
		pthread_mutex_lock(&waiting_lock);
		stop = stopping;
		pthread_mutex_unlock(&waiting_lock);
		if (stop)
			break;
		answer_ready();
	}
	return NULL;
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct waiting_read *w;
	int r;

	(void)ino;
	fs_ops_begin(req);
	r = fs_read_would_wait(fi, off);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (r == 0 || !answerer_running) {
		answer(req, fi, size, off);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->req = req;
	w->fi = *fi;
	w->size = size;
	w->off = off;
	w->registering = true;
	pthread_mutex_lock(&waiting_lock);
	w->id = next_wait_id++;
	w->next = waiting;
	waiting = w;
	pthread_mutex_unlock(&waiting_lock);
	/* Registered after the entry exists: an interrupt that came first
	 * is reported at once, and finds it. Until the call returns, no
	 * other thread answers the request: an answer frees it, and the
	 * call would then lock and write freed memory (libfuse's session
	 * lock was seen left held that way, every worker stuck behind it). */
	fuse_req_interrupt_func(req, on_interrupt, (void *)(uintptr_t)w->id);
	pthread_mutex_lock(&waiting_lock);
	w->registering = false;
	pthread_mutex_unlock(&waiting_lock);
	wake();     /* the change may have come before the entry did */
}

static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
	struct bf_fs *fs = userdata;

	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Replies from an fd (a command's output) are spliced. */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd >= 0) {
		bf_exec_on_change(wake);
		answerer_running = pthread_create(&answerer, NULL, answer_waiting, NULL) == 0;
		if (answerer_running)
			bf_exec_on_output(answer_ready);
	}
	/* Before the re-attach: its changes are invalidations too. Without
	 * the notifier nothing is cached. */
	if (fs_cache_start(fs->se, fs->reg, inode_of) == 0)
		bf_registry_set_change_hook(fs->reg, fs_cache_changed, fs->reg);
	bf_registry_start(fs->reg);
}

void bf_fs_shutdown(void)
{
	struct waiting_read *w;

	fs_cache_stop();
	if (!answerer_running)
		return;
	bf_exec_on_output(NULL);
	pthread_mutex_lock(&waiting_lock);
	stopping = true;
	pthread_mutex_unlock(&waiting_lock);
	wake();
	pthread_join(answerer, NULL);
	answerer_running = false;
	bf_exec_on_change(NULL);
	/* The session is over: these have no reader left to answer (a
	 * pump may still be answering some; the lock keeps them apart). */
	for (;;) {
		pthread_mutex_lock(&waiting_lock);
		w = waiting;
		if (w)
			waiting = w->next;
		pthread_mutex_unlock(&waiting_lock);
		if (!w)
			break;
		fuse_reply_err(w->req, EINTR);
		free(w);
	}
}

static const struct fuse_lowlevel_ops operations = {
	.init = ll_init,
	.lookup = ll_lookup,
	.forget = ll_forget,
	.forget_multi = ll_forget_multi,
	.getattr = ll_getattr,
	.readlink = ll_readlink,
	.setattr = ll_setattr,
	.opendir = ll_opendir,
	.readdir = ll_readdir,
	.releasedir = ll_releasedir,
	.open = ll_open,
	.create = ll_create,
	.mkdir = ll_mkdir,
	.mknod = ll_mknod,
	.symlink = ll_symlink,
	.link = ll_link,
	.rename = ll_rename,
	.rmdir = ll_rmdir,
	.unlink = ll_unlink,
	.read = ll_read,
	.write = ll_write,
	.flush = ll_flush,
	.release = ll_release,
};

const struct fuse_lowlevel_ops *bf_fs_lowlevel_ops(void)
{
	return &operations;
}
