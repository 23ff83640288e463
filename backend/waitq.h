/* Things a bottle waits on a person for, shown as files: an egress
 * destination the allowlist refused (NAME/pending/HOST:PORT, with
 * [network] ask) and a question of the agent's (NAME/requests/N/). An
 * item is posted under a key, waited on by whoever asked (a proxy or
 * supervise connection, never a FUSE worker), and decided from the tree:
 * allowed or answered, or denied. Thread-safe; its own lock is never held
 * across I/O. */
#ifndef BOTTLEFS_WAITQ_H
#define BOTTLEFS_WAITQ_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

#define BF_WAITQ_KEY_MAX 300
#define BF_WAITQ_ITEMS_MAX 64           /* waiting at once, per queue */
#define BF_WAITQ_ANSWER_MAX (64 * 1024)

enum bf_waitq_verdict {
	BF_WAITQ_ALLOWED,       /* allowed, or answered (the answer comes back) */
	BF_WAITQ_DENIED,        /* denied, or declined (rm, rmdir) */
	BF_WAITQ_TIMEOUT,       /* nobody decided in time */
	BF_WAITQ_GONE,          /* the asker went away */
	BF_WAITQ_CLOSED,        /* the bottle stopped */
};

struct bf_waitq;
struct bf_waitq_item;

struct bf_waitq *bf_waitq_new(void);
void bf_waitq_ref(struct bf_waitq *q);
void bf_waitq_unref(struct bf_waitq *q);

/* Posts `text` under `key`, or, with key NULL, under the next number
 * ("1", "2", ...). A key already waiting is joined (its text kept). An
 * item that `keeps` stays until decided, even with nobody waiting (a
 * refused destination: the next connection proceeds); else it goes with
 * its last waiter. Returns the item (released by bf_waitq_wait), NULL
 * with errno ENOSPC when BF_WAITQ_ITEMS_MAX wait, or ESHUTDOWN once
 * closed. `key_out` (BF_WAITQ_KEY_MAX) gets the key. */
struct bf_waitq_item *bf_waitq_post(struct bf_waitq *q, const char *key, const char *text,
				    bool keeps, char *key_out);

/* Waits up to `timeout_s` for the item's verdict, asking `still_wanted`
 * once a second (false: the asker is gone). An answer, if any, is
 * returned in *answer (malloc'd, NUL-terminated) for BF_WAITQ_ALLOWED.
 * Releases the item. */
enum bf_waitq_verdict bf_waitq_wait(struct bf_waitq *q, struct bf_waitq_item *item, int timeout_s,
				    bool (*still_wanted)(void *), void *ctx, char **answer);

/* A person's verdict on `key`: allowed (with an answer, may be NULL) or
 * denied. 0, or -ENOENT if nothing waits under that key. */
int bf_waitq_decide(struct bf_waitq *q, const char *key, bool allow, const char *answer,
		    size_t answer_len);

/* The waiting keys, oldest first, NULL-terminated (bf_strv_free). */
int bf_waitq_keys(struct bf_waitq *q, char ***keys);
/* Whether `key` waits, and its text and the time it was posted. */
int bf_waitq_text(struct bf_waitq *q, const char *key, struct bf_buf *out, time_t *posted);
bool bf_waitq_has(struct bf_waitq *q, const char *key);

/* The bottle stopped: every waiter gets BF_WAITQ_CLOSED, every item goes,
 * and no new one is posted until bf_waitq_reopen. */
void bf_waitq_close(struct bf_waitq *q);
void bf_waitq_reopen(struct bf_waitq *q);

#endif
