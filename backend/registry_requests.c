/* NAME/requests/N/ (supervise's ask_human): the agent's question, and
 * the answer a person writes (or rmdir: declined); MNT/requests.log
 * lists every question across bottles as it comes and goes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_internal.h"
#include "waitq.h"

void bf_registry_requests_log_path(const struct bf_registry *reg, char *out, size_t len)
{
	snprintf(out, len, "%s/requests.log", reg->cfg.state_dir);
}

bool bf_registry_has_requests(struct bf_registry *reg, const char *name)
{
	struct bf_bottle *b;
	bool has;

	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	has = b && b->manifest.supervise;
	pthread_mutex_unlock(&reg->lock);
	return has;
}

static struct bf_waitq *questions_of(struct bf_registry *reg, const char *name)
{
	struct bf_waitq *q = NULL;
	struct bf_bottle *b;

	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	if (b && b->manifest.supervise && b->questions) {
		q = b->questions;
		bf_waitq_ref(q);
	}
	pthread_mutex_unlock(&reg->lock);
	return q;
}

int bf_registry_request_keys(struct bf_registry *reg, const char *name, char ***keys)
{
	struct bf_waitq *q = questions_of(reg, name);
	int r;

	if (!q) {
		*keys = calloc(1, sizeof(char *));
		return *keys ? 0 : -ENOMEM;
	}
	r = bf_waitq_keys(q, keys);
	bf_waitq_unref(q);
	return r;
}

bool bf_registry_request_exists(struct bf_registry *reg, const char *name, const char *key)
{
	struct bf_waitq *q = questions_of(reg, name);
	bool has = q && bf_waitq_has(q, key);

	bf_waitq_unref(q);
	return has;
}

int bf_registry_request_render(struct bf_registry *reg, const char *name, const char *key,
			       struct bf_buf *out)
{
	struct bf_waitq *q = questions_of(reg, name);
	int r;

	if (!q)
		return -ENOENT;
	r = bf_waitq_text(q, key, out, NULL);
	bf_waitq_unref(q);
	if (r < 0)
		return r;
	if (out->len && out->data[out->len - 1] != '\n')
		bf_buf_putc(out, '\n');
	return bf_buf_finish(out);
}

int bf_registry_request_decide(struct bf_registry *reg, const char *name, const char *key,
			       const char *answer, size_t len, struct bf_error *err)
{
	struct bf_waitq *q = questions_of(reg, name);
	int r;

	if (!q)
		return bf_error_set(err, ENOENT, "no question %s waits", key);
	if (answer) {
		if (len > BF_WAITQ_ANSWER_MAX) {
			bf_waitq_unref(q);
			return bf_error_set(err, EFBIG, "an answer is at most %d bytes", BF_WAITQ_ANSWER_MAX);
		}
		if (memchr(answer, '\0', len)) {
			bf_waitq_unref(q);
			return bf_error_set(err, EINVAL, "an answer is text");
		}
		/* echo's newline is not part of the answer. */
		if (len && answer[len - 1] == '\n')
			len--;
	}
	r = bf_waitq_decide(q, key, answer != NULL, answer, len);
	bf_waitq_unref(q);
	return r < 0 ? bf_error_set(err, -r, "no question %s waits (answered, declined or withdrawn)", key)
		     : 0;
}
