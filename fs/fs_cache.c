#include "fs_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "fs_path.h"

/* Long enough that only a change (and the kernel's memory pressure)
 * drops what is cached. */
#define CACHE_SECONDS 86400.0

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static char (*pending)[BF_NAME_MAX + 1];   /* bottles to invalidate */
static size_t n_pending, cap_pending;
static bool overflow;           /* a name could not be noted: do all */
static uint64_t noted, done;    /* changes noted, and invalidated */
static atomic_bool running;    /* read by every lookup, unlocked */
static bool stopping;
static struct fuse_session *session;
static fuse_ino_t (*inode_of)(const char *path);
static struct bf_registry *registry;
static pthread_t thread;

/* log and egress grow on their own; the rest is rendered. */
static bool cached_file(enum bf_file f)
{
	return f != BF_FILE_LOG && f != BF_FILE_EGRESS && f != BF_FILE_GIT_LOG && f != BF_FILE_GIT_REFS;
}

/* What the kernel may keep of a path: nothing; its name only; or its
 * name and attributes (and, for a rendered file, its pages). */
enum keep { KEEP_NOTHING, KEEP_NAME, KEEP_ALL };

static enum keep what_is_kept(const char *path, bool *rendered_file)
{
	struct fs_path p;

	*rendered_file = false;
	if (!running)
		return KEEP_NOTHING;
	fs_path_parse(path, &p);
	switch (p.node) {
	case NODE_ROOT:
	case NODE_NEW_DIR:
	case NODE_BOTTLE_DIR:
	case NODE_EXEC_DIR:
	case NODE_EXEC_RUN:
		return KEEP_ALL;
	case NODE_BOTTLE_FILE:
		/* Names stay while their bottle does (rmdir drops the
		 * bottle's dentry and all below); log and egress grow. */
		*rendered_file = cached_file(p.file);
		return *rendered_file ? KEEP_ALL : KEEP_NAME;
	case NODE_ERRORS:
	case NODE_BACKENDS:
	case NODE_CLEANUP:
		return KEEP_NAME;   /* honest sizes: rendered at each stat */
	default:
		/* new/NAME, sessions, the workspace view come and go. */
		return KEEP_NOTHING;
	}
}

void fs_cache_timeouts(const char *path, double *entry, double *attr)
{
	bool rendered_file;
	enum keep k = what_is_kept(path, &rendered_file);

	*entry = k != KEEP_NOTHING ? CACHE_SECONDS : 0;
	*attr = k == KEEP_ALL ? CACHE_SECONDS : 0;
}

bool fs_cache_keeps_pages(const char *path)
{
	bool rendered_file;

	return what_is_kept(path, &rendered_file) == KEEP_ALL && rendered_file;
}

static void invalidate_bottle(const char *name)
{
	char path[BF_NAME_MAX + 64];

	for (size_t i = 0; fs_bottle_files[i].name; i++) {
		fuse_ino_t ino;

		if (!cached_file(fs_bottle_files[i].file))
			continue;
		snprintf(path, sizeof(path), "/%s/%s", name, fs_bottle_files[i].name);
		ino = inode_of(path);
		/* Attributes and all pages; -ENOENT if the kernel forgot it. */
		if (ino)
			fuse_lowlevel_notify_inval_inode(session, ino, 0, 0);
	}
}

static void invalidate_all(void)
{
	char **names = NULL;

	if (bf_registry_names(registry, &names) < 0)
		return;
	for (size_t i = 0; names[i]; i++)
		invalidate_bottle(names[i]);
	bf_strv_free(names);
}

static void *notifier(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		char (*batch)[BF_NAME_MAX + 1];
		size_t n;
		uint64_t upto;
		bool all;

		if (!n_pending && !overflow) {
			pthread_cond_wait(&work_cond, &lock);
			continue;
		}
		batch = pending;
		n = n_pending;
		all = overflow;
		upto = noted;
		pending = NULL;
		n_pending = cap_pending = 0;
		overflow = false;
		pthread_mutex_unlock(&lock);
		for (size_t i = 0; i < n; i++)
			invalidate_bottle(batch[i]);
		free(batch);
		if (all)
			invalidate_all();
		pthread_mutex_lock(&lock);
		done = upto;
		pthread_cond_broadcast(&done_cond);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int fs_cache_start(struct fuse_session *se, struct bf_registry *reg,
		   fuse_ino_t (*lookup)(const char *path))
{
	int r;

	session = se;
	registry = reg;
	inode_of = lookup;
	stopping = false;
	r = pthread_create(&thread, NULL, notifier, NULL);
	if (r != 0)
		return -r;
	running = true;
	return 0;
}

void fs_cache_changed(void *ctx, const char *name)
{
	size_t i;

	(void)ctx;
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	noted++;
	for (i = 0; i < n_pending && strcmp(pending[i], name) != 0; i++)
		;
	if (i == n_pending) {
		if (n_pending == cap_pending) {
			size_t cap = cap_pending ? cap_pending * 2 : 16;
			void *v = reallocarray(pending, cap, sizeof(*pending));

			if (v) {
				pending = v;
				cap_pending = cap;
			}
		}
		if (n_pending < cap_pending)
			strlcpy(pending[n_pending++], name, sizeof(pending[0]));
		else
			overflow = true;
	}
	pthread_cond_signal(&work_cond);
	pthread_mutex_unlock(&lock);
}

void fs_cache_sync(void)
{
	struct timespec deadline;
	uint64_t target;

	pthread_mutex_lock(&lock);
	target = noted;
	if (done >= target) {       /* the usual case: nothing pending */
		pthread_mutex_unlock(&lock);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	while (running && done < target)
		if (pthread_cond_timedwait(&done_cond, &lock, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&lock);
}

void fs_cache_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&work_cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	pthread_mutex_lock(&lock);
	running = false;
	free(pending);
	pending = NULL;
	n_pending = cap_pending = 0;
	pthread_cond_broadcast(&done_cond);
	pthread_mutex_unlock(&lock);
}
