#include "waitq.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/string.h>

struct bf_waitq_item {
	struct bf_waitq_item *next;     /* in the queue, while undecided */
	char key[BF_WAITQ_KEY_MAX];
	char *text;
	time_t posted;
	bool keeps;
	bool listed;            /* in the queue */
	bool decided;
	enum bf_waitq_verdict verdict;
	char *answer;
	unsigned refs;          /* waiters, and the queue while listed */
};

struct bf_waitq {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct bf_waitq_item *items;    /* oldest first */
	size_t n_items;
	unsigned long long next_number;
	bool closed;
	unsigned refs;
};

struct bf_waitq *bf_waitq_new(void)
{
	struct bf_waitq *q = calloc(1, sizeof(*q));
	pthread_condattr_t attr;

	if (!q)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->changed, &attr);
	pthread_condattr_destroy(&attr);
	q->next_number = 1;
	q->refs = 1;
	return q;
}

static void item_put_locked(struct bf_waitq_item *it)
{
	if (--it->refs)
		return;
	free(it->text);
	free(it->answer);
	free(it);
}

static void unlist_locked(struct bf_waitq *q, struct bf_waitq_item *it)
{
	struct bf_waitq_item **pp;

	if (!it->listed)
		return;
	for (pp = &q->items; *pp; pp = &(*pp)->next)
		if (*pp == it) {
			*pp = it->next;
			break;
		}
	it->listed = false;
	q->n_items--;
	item_put_locked(it);
}

void bf_waitq_ref(struct bf_waitq *q)
{
	pthread_mutex_lock(&q->lock);
	q->refs++;
	pthread_mutex_unlock(&q->lock);
}

void bf_waitq_unref(struct bf_waitq *q)
{
	bool last;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	last = --q->refs == 0;
	pthread_mutex_unlock(&q->lock);
	if (!last)
		return;
	/* No waiter holds a reference to an item any more: each held one
	 * to the queue too. */
	while (q->items)
		unlist_locked(q, q->items);
	pthread_cond_destroy(&q->changed);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static struct bf_waitq_item *find_locked(struct bf_waitq *q, const char *key)
{
	for (struct bf_waitq_item *it = q->items; it; it = it->next)
		if (strcmp(it->key, key) == 0)
			return it;
	return NULL;
}

struct bf_waitq_item *bf_waitq_post(struct bf_waitq *q, const char *key, const char *text,
				    bool keeps, char *key_out)
{
	struct bf_waitq_item *it, **tail;

	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		pthread_mutex_unlock(&q->lock);
		errno = ESHUTDOWN;
		return NULL;
	}
	it = key ? find_locked(q, key) : NULL;
	if (it) {
		it->refs++;
		q->refs++;
		strlcpy(key_out, it->key, BF_WAITQ_KEY_MAX);
		pthread_mutex_unlock(&q->lock);
		return it;
	}
	if (q->n_items >= BF_WAITQ_ITEMS_MAX || !(it = calloc(1, sizeof(*it))) ||
	    !(it->text = strdup(text))) {
		int code = q->n_items >= BF_WAITQ_ITEMS_MAX ? ENOSPC : ENOMEM;

		if (it)
			free(it);
		pthread_mutex_unlock(&q->lock);
		errno = code;
		return NULL;
	}
	if (key)
		strlcpy(it->key, key, sizeof(it->key));
	else
		snprintf(it->key, sizeof(it->key), "%llu", q->next_number++);
	it->posted = time(NULL);
	it->keeps = keeps;
	it->listed = true;
	it->refs = 2;           /* the queue's and the waiter's */
	for (tail = &q->items; *tail; tail = &(*tail)->next)
		;
	*tail = it;
	q->n_items++;
	q->refs++;              /* the waiter's, given back by bf_waitq_wait */
	strlcpy(key_out, it->key, BF_WAITQ_KEY_MAX);
	pthread_mutex_unlock(&q->lock);
	return it;
}

enum bf_waitq_verdict bf_waitq_wait(struct bf_waitq *q, struct bf_waitq_item *it, int timeout_s,
				    bool (*still_wanted)(void *), void *ctx, char **answer)
{
	enum bf_waitq_verdict v;
	struct timespec now, end;

	*answer = NULL;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_s;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct timespec slice;

		if (it->decided) {
			v = it->verdict;
			if (v == BF_WAITQ_ALLOWED && it->answer)
				*answer = strdup(it->answer);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= end.tv_sec) {
			v = BF_WAITQ_TIMEOUT;
			break;
		}
		/* A second at a time, to ask whether the asker is still there
		 * without the lock. */
		pthread_mutex_unlock(&q->lock);
		if (still_wanted && !still_wanted(ctx)) {
			pthread_mutex_lock(&q->lock);
			if (!it->decided) {
				v = BF_WAITQ_GONE;
				break;
			}
			continue;
		}
		pthread_mutex_lock(&q->lock);
		if (it->decided)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &slice);
		slice.tv_sec += 1;
		pthread_cond_timedwait(&q->changed, &q->lock, &slice);
	}
	/* The last waiter of an item that does not keep takes it along. */
	if (!it->decided && !it->keeps && it->refs == 2)
		unlist_locked(q, it);
	item_put_locked(it);
	pthread_mutex_unlock(&q->lock);
	bf_waitq_unref(q);
	return v;
}

int bf_waitq_decide(struct bf_waitq *q, const char *key, bool allow, const char *answer,
		    size_t answer_len)
{
	struct bf_waitq_item *it;

	pthread_mutex_lock(&q->lock);
	it = find_locked(q, key);
	if (!it) {
		pthread_mutex_unlock(&q->lock);
		return -ENOENT;
	}
	if (answer) {
		it->answer = malloc(answer_len + 1);
		if (!it->answer) {
			pthread_mutex_unlock(&q->lock);
			return -ENOMEM;
		}
		memcpy(it->answer, answer, answer_len);
		it->answer[answer_len] = '\0';
	}
	it->decided = true;
	it->verdict = allow ? BF_WAITQ_ALLOWED : BF_WAITQ_DENIED;
	unlist_locked(q, it);
	pthread_cond_broadcast(&q->changed);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int bf_waitq_keys(struct bf_waitq *q, char ***keys)
{
	struct bf_waitq_item *it;
	size_t n = 0;

	pthread_mutex_lock(&q->lock);
	*keys = calloc(q->n_items + 1, sizeof(char *));
	for (it = q->items; *keys && it; it = it->next) {
		if (!((*keys)[n] = strdup(it->key)))
			break;
		n++;
	}
	pthread_mutex_unlock(&q->lock);
	if (!*keys || it) {
		for (size_t i = 0; *keys && i < n; i++)
			free((*keys)[i]);
		free(*keys);
		*keys = NULL;
		return -ENOMEM;
	}
	return 0;
}

int bf_waitq_text(struct bf_waitq *q, const char *key, struct bf_buf *out, time_t *posted)
{
	struct bf_waitq_item *it;

	pthread_mutex_lock(&q->lock);
	it = find_locked(q, key);
	if (it) {
		bf_buf_puts(out, it->text);
		if (posted)
			*posted = it->posted;
	}
	pthread_mutex_unlock(&q->lock);
	return it ? 0 : -ENOENT;
}

bool bf_waitq_has(struct bf_waitq *q, const char *key)
{
	bool has;

	pthread_mutex_lock(&q->lock);
	has = find_locked(q, key) != NULL;
	pthread_mutex_unlock(&q->lock);
	return has;
}

void bf_waitq_close(struct bf_waitq *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	while (q->items) {
		struct bf_waitq_item *it = q->items;

		it->decided = true;
		it->verdict = BF_WAITQ_CLOSED;
		unlist_locked(q, it);
	}
	pthread_cond_broadcast(&q->changed);
	pthread_mutex_unlock(&q->lock);
}

void bf_waitq_reopen(struct bf_waitq *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = false;
	pthread_mutex_unlock(&q->lock);
}
