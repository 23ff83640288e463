/* A bottle's queues of what waits for a person (waitq.h): pending/
 * (refused destinations, request_access) and requests/ (ask_human). The
 * file operations of registry_ask.c and registry_requests.c find them
 * here, referenced, so that no lock is held while they are used. */
#include <errno.h>
#include <stdlib.h>

#include "registry_internal.h"
#include "waitq.h"

static bool has_queue(const struct bf_bottle *b, enum bf_queue which)
{
	return which == BF_QUEUE_APPROVALS ? b->manifest.ask || b->manifest.supervise
					   : b->manifest.supervise;
}

bool bf_registry_has_queue(struct bf_registry *reg, const char *name, enum bf_queue which)
{
	struct bf_bottle *b;
	bool has;

	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	has = b && has_queue(b, which);
	pthread_mutex_unlock(&reg->lock);
	return has;
}

struct bf_waitq *bf_registry_queue_ref(struct bf_registry *reg, const char *name,
				       enum bf_queue which)
{
	struct bf_waitq *q = NULL;
	struct bf_bottle *b;

	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	if (b && has_queue(b, which))
		q = which == BF_QUEUE_APPROVALS ? b->approvals : b->questions;
	if (q)
		bf_waitq_ref(q);
	pthread_mutex_unlock(&reg->lock);
	return q;
}

int bf_registry_queue_keys(struct bf_registry *reg, const char *name, enum bf_queue which,
			   char ***keys)
{
	struct bf_waitq *q = bf_registry_queue_ref(reg, name, which);
	int r;

	if (!q) {
		/* Never started: nothing waits yet. */
		*keys = calloc(1, sizeof(char *));
		return *keys ? 0 : -ENOMEM;
	}
	r = bf_waitq_keys(q, keys);
	bf_waitq_unref(q);
	return r;
}

bool bf_registry_queue_has(struct bf_registry *reg, const char *name, enum bf_queue which,
			   const char *key)
{
	struct bf_waitq *q = bf_registry_queue_ref(reg, name, which);
	bool has = q && bf_waitq_has(q, key);

	bf_waitq_unref(q);
	return has;
}

int bf_registry_queue_text(struct bf_registry *reg, const char *name, enum bf_queue which,
			   const char *key, struct bf_buf *out)
{
	struct bf_waitq *q = bf_registry_queue_ref(reg, name, which);
	int r;

	if (!q)
		return -ENOENT;
	r = bf_waitq_text(q, key, out, NULL);
	bf_waitq_unref(q);
	return r;
}
