/* Persistent state: one JSON file per bottle, STATE/bottles/NAME.json,
 * holding the manifest as written and the metadata kept for resume.
 * Writes are atomic: temp file, fsync, rename, fsync of the directory. */
#ifndef BOTTLEFS_STATE_STORE_H
#define BOTTLEFS_STATE_STORE_H

#include <stddef.h>

#include "bottle.h"
#include "error.h"

struct bf_store {
	int dirfd;              /* STATE/bottles */
	int allow_dirfd;        /* STATE/allow: live allowlists, one file each */
};

/* Creates STATE and STATE/bottles (mode 0700) if needed. */
int bf_store_open(const char *dir, struct bf_store *s, struct bf_error *err);
void bf_store_close(struct bf_store *s);

int bf_store_save(struct bf_store *s, const char *name, const char *text, size_t len,
		  const struct bf_meta *meta, struct bf_error *err);
/* bf_store_save in two steps, so that the record can be made under a lock
 * and written after: the record's text (NULL when out of memory; the
 * caller frees it), then the atomic write of it. Writes of one name must
 * not overlap (they share a temp file). */
char *bf_store_record_text(const char *name, const char *text, size_t len,
			   const struct bf_meta *meta);
int bf_store_write_record(struct bf_store *s, const char *name, const char *record,
			  struct bf_error *err);
int bf_store_remove(struct bf_store *s, const char *name, struct bf_error *err);

/* A bottle's live egress allowlist (STATE/allow/NAME, one rule a line),
 * kept apart from its record: it exists only once `allow` was written. */
int bf_store_save_allow(struct bf_store *s, const char *name, char *const *rules, size_t n,
			struct bf_error *err);
/* Reads it as written (NUL-terminated, freed by the caller); -ENOENT when
 * there is none. */
int bf_store_load_allow(struct bf_store *s, const char *name, char **text, size_t *len);
int bf_store_remove_allow(struct bf_store *s, const char *name);

/* Called for each well-formed record; a non-zero return stops the load. */
typedef int (*bf_store_record_fn)(void *ctx, const char *name, const char *text,
				  size_t len, const struct bf_meta *meta);
/* Called for each file that cannot be read back (corrupt, truncated,
 * badly named); loading goes on with the next. */
typedef void (*bf_store_problem_fn)(void *ctx, const char *file, const char *reason);

int bf_store_load(struct bf_store *s, bf_store_record_fn record,
		  bf_store_problem_fn problem, void *ctx, struct bf_error *err);

#endif
