/* The ref patterns of a manifest's [git] push and fetch: a branch name
 * (under refs/heads/) or a full ref name starting with refs/, with at
 * most one '*' that matches any run of characters, slashes included (as
 * in a git refspec). Pure: no I/O. */
#ifndef BOTTLEFS_GIT_REFS_H
#define BOTTLEFS_GIT_REFS_H

#include <stdbool.h>
#include <stddef.h>

#include "../error.h"

#define BF_GIT_PATTERN_MAX 200

/* 0, or -EINVAL with the reason in err. */
int bf_git_pattern_check(const char *pattern, struct bf_error *err);
/* The full-ref form of a valid pattern ("bottle/x" -> "refs/heads/bottle/x");
 * 0 or -ENAMETOOLONG. */
int bf_git_pattern_ref(const char *pattern, char *out, size_t len);
/* Whether the full ref name `ref` matches the (valid) pattern. */
bool bf_git_pattern_match(const char *pattern, const char *ref);
/* Whether any of the patterns matches. */
bool bf_git_patterns_match(char *const *patterns, size_t n, const char *ref);

#endif
