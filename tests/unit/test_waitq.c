/* The queue of what waits for a person: post, wait, decide, bounds,
 * waiters that leave, close. Real threads, short timeouts. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backend/registry.h"
#include "../../backend/waitq.h"
#include "cunit_main.h"

struct waiter {
	struct bf_waitq *q;
	struct bf_waitq_item *item;
	int timeout;
	enum bf_waitq_verdict verdict;
	char *answer;
	pthread_t thread;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->verdict = bf_waitq_wait(w->q, w->item, w->timeout, NULL, NULL, &w->answer);
	return NULL;
}

static void start(struct waiter *w, struct bf_waitq *q, const char *key, bool keeps, int timeout,
		  char *key_out)
{
	memset(w, 0, sizeof(*w));
	w->q = q;
	w->timeout = timeout;
	w->item = bf_waitq_post(q, key, "text\n", keeps, key_out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w->item);
	pthread_create(&w->thread, NULL, wait_thread, w);
}

static void test_answer(void)
{
	struct bf_waitq *q = bf_waitq_new();
	struct waiter a, b;
	char key[BF_WAITQ_KEY_MAX], key2[BF_WAITQ_KEY_MAX], **keys;
	struct bf_buf text = { 0 };

	start(&a, q, NULL, false, 10, key);
	CU_ASSERT_STRING_EQUAL(key, "1");
	start(&b, q, NULL, false, 10, key2);
	CU_ASSERT_STRING_EQUAL(key2, "2");
	CU_ASSERT_EQUAL(bf_waitq_keys(q, &keys), 0);
	CU_ASSERT_STRING_EQUAL(keys[0], "1");
	CU_ASSERT_STRING_EQUAL(keys[1], "2");
	CU_ASSERT_PTR_NULL(keys[2]);
	bf_strv_free(keys);
	CU_ASSERT_EQUAL(bf_waitq_text(q, "1", &text, NULL), 0);
	CU_ASSERT_STRING_EQUAL(text.data, "text\n");
	bf_buf_free(&text);
	CU_ASSERT_EQUAL(bf_waitq_decide(q, "1", true, "yes, go ahead", 13), 0);
	CU_ASSERT_EQUAL(bf_waitq_decide(q, "2", false, NULL, 0), 0);
	pthread_join(a.thread, NULL);
	pthread_join(b.thread, NULL);
	CU_ASSERT_EQUAL(a.verdict, BF_WAITQ_ALLOWED);
	CU_ASSERT_STRING_EQUAL(a.answer, "yes, go ahead");
	CU_ASSERT_EQUAL(b.verdict, BF_WAITQ_DENIED);
	CU_ASSERT_PTR_NULL(b.answer);
	free(a.answer);
	/* Decided: gone from the queue, a second verdict finds nothing. */
	CU_ASSERT_FALSE(bf_waitq_has(q, "1"));
	CU_ASSERT_EQUAL(bf_waitq_decide(q, "1", true, NULL, 0), -ENOENT);
	bf_waitq_unref(q);
}

static void test_keep_and_join(void)
{
	struct bf_waitq *q = bf_waitq_new();
	struct waiter a, b, c;
	char key[BF_WAITQ_KEY_MAX];

	/* A kept item outlives a waiter that timed out... */
	start(&a, q, "h:443", true, 1, key);
	pthread_join(a.thread, NULL);
	CU_ASSERT_EQUAL(a.verdict, BF_WAITQ_TIMEOUT);
	CU_ASSERT_TRUE(bf_waitq_has(q, "h:443"));
	/* ... and the next asker joins it, as a second does. */
	start(&b, q, "h:443", true, 10, key);
	start(&c, q, "h:443", true, 10, key);
	CU_ASSERT_STRING_EQUAL(key, "h:443");
	CU_ASSERT_EQUAL(bf_waitq_decide(q, "h:443", true, NULL, 0), 0);
	pthread_join(b.thread, NULL);
	pthread_join(c.thread, NULL);
	CU_ASSERT_EQUAL(b.verdict, BF_WAITQ_ALLOWED);
	CU_ASSERT_EQUAL(c.verdict, BF_WAITQ_ALLOWED);
	/* One that does not keep goes with its last waiter. */
	start(&a, q, NULL, false, 1, key);
	pthread_join(a.thread, NULL);
	CU_ASSERT_EQUAL(a.verdict, BF_WAITQ_TIMEOUT);
	CU_ASSERT_FALSE(bf_waitq_has(q, key));
	bf_waitq_unref(q);
}

static bool gone(void *ctx)
{
	(void)ctx;
	return false;
}

static void test_bounds_and_close(void)
{
	struct bf_waitq *q = bf_waitq_new();
	struct waiter w;
	char key[BF_WAITQ_KEY_MAX], name[16], *answer;
	struct bf_waitq_item *it;
	int i;

	for (i = 0; i < BF_WAITQ_ITEMS_MAX; i++) {
		snprintf(name, sizeof(name), "d%d:1", i);
		it = bf_waitq_post(q, name, "t", true, key);
		CU_ASSERT_PTR_NOT_NULL_FATAL(it);
		/* The asker leaves at once; the item stays. */
		CU_ASSERT_EQUAL(bf_waitq_wait(q, it, 10, gone, NULL, &answer), BF_WAITQ_GONE);
	}
	errno = 0;
	CU_ASSERT_PTR_NULL(bf_waitq_post(q, "one-more:1", "t", true, key));
	CU_ASSERT_EQUAL(errno, ENOSPC);
	/* Joining one that waits is no new item. */
	it = bf_waitq_post(q, "d3:1", "t", true, key);
	CU_ASSERT_PTR_NOT_NULL_FATAL(it);
	CU_ASSERT_EQUAL(bf_waitq_wait(q, it, 10, gone, NULL, &answer), BF_WAITQ_GONE);
	/* Close: waiters are told, everything goes, nothing new comes. */
	start(&w, q, "d5:1", true, 30, key);
	usleep(100000);
	bf_waitq_close(q);
	pthread_join(w.thread, NULL);
	CU_ASSERT_EQUAL(w.verdict, BF_WAITQ_CLOSED);
	CU_ASSERT_FALSE(bf_waitq_has(q, "d0:1"));
	errno = 0;
	CU_ASSERT_PTR_NULL(bf_waitq_post(q, "x:1", "t", true, key));
	CU_ASSERT_EQUAL(errno, ESHUTDOWN);
	bf_waitq_reopen(q);
	it = bf_waitq_post(q, "x:1", "t", true, key);
	CU_ASSERT_PTR_NOT_NULL(it);
	if (it)
		bf_waitq_wait(q, it, 0, NULL, NULL, &answer);
	bf_waitq_unref(q);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "answer", test_answer },
		{ "keep_and_join", test_keep_and_join },
		{ "bounds_and_close", test_bounds_and_close },
		{ NULL, NULL },
	};

	return run_unit_tests("waitq", tests);
}
