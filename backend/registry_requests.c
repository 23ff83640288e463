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

int bf_registry_request_render(struct bf_registry *reg, const char *name, const char *key,
			       struct bf_buf *out)
{
	int r = bf_registry_queue_text(reg, name, BF_QUEUE_QUESTIONS, key, out);

	if (r < 0)
		return r;
	if (out->len && out->data[out->len - 1] != '\n')
		bf_buf_putc(out, '\n');
	return bf_buf_finish(out);
}

static int request_decide(struct bf_registry *reg, const char *name, const char *key,
			  const char *answer, size_t len, struct bf_error *err)
{
	struct bf_waitq *q = bf_registry_queue_ref(reg, name, BF_QUEUE_QUESTIONS);
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

int bf_registry_request_decide(struct bf_registry *reg, const char *name, const char *key,
			       const char *answer, size_t len, struct bf_error *err)
{
	int r = request_decide(reg, name, key, answer, len, err);

	if (r < 0)
		bf_registry_report(reg, name, "requests/%s: %s", key, err->msg);
	return r;
}
