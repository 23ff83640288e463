#include "git_refs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool pattern_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '/' || c == '+' || c == '*';
}

int bf_git_pattern_check(const char *p, struct bf_error *err)
{
	size_t n = strlen(p), i;
	const char *star = strchr(p, '*');

	if (n == 0 || n > BF_GIT_PATTERN_MAX)
		return bf_error_set(err, EINVAL, "git ref pattern \"%.40s\" must be 1 to %d bytes", p,
				    BF_GIT_PATTERN_MAX);
	for (i = 0; i < n; i++)
		if (!pattern_byte((unsigned char)p[i]))
			return bf_error_set(err, EINVAL, "git ref pattern \"%.40s\": only letters, digits, "
					    "and . _ - / + * may appear", p);
	if (star && strchr(star + 1, '*'))
		return bf_error_set(err, EINVAL, "git ref pattern \"%.40s\" may hold one '*'", p);
	/* What git refuses in a ref name (check-ref-format), refused here
	 * so that a pattern can only ever match a real ref. */
	if (p[0] == '/' || p[n - 1] == '/' || p[0] == '-' || p[0] == '.' || strstr(p, "//") ||
	    strstr(p, "..") || strstr(p, "/.") || (n >= 5 && strcmp(p + n - 5, ".lock") == 0) ||
	    p[n - 1] == '.')
		return bf_error_set(err, EINVAL, "git ref pattern \"%.40s\" is not a valid ref name "
				    "(see git-check-ref-format(1))", p);
	if (strncmp(p, "refs/", 5) == 0 && (strcmp(p, "refs/") == 0 || p[5] == '*'))
		return bf_error_set(err, EINVAL, "git ref pattern \"%.40s\" must name refs below a "
				    "kind (refs/heads/..., refs/tags/...)", p);
	return 0;
}

int bf_git_pattern_ref(const char *p, char *out, size_t len)
{
	int n = strncmp(p, "refs/", 5) == 0 ? snprintf(out, len, "%s", p)
					    : snprintf(out, len, "refs/heads/%s", p);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool bf_git_pattern_match(const char *p, const char *ref)
{
	char full[BF_GIT_PATTERN_MAX + 16];
	const char *star;
	size_t pre, post, n = strlen(ref);

	if (bf_git_pattern_ref(p, full, sizeof(full)) < 0)
		return false;
	star = strchr(full, '*');
	if (!star)
		return strcmp(full, ref) == 0;
	pre = (size_t)(star - full);
	post = strlen(star + 1);
	/* '*' matches one or more bytes: a refspec glob never matches an
	 * empty component. */
	return n > pre + post && strncmp(ref, full, pre) == 0 &&
	       strcmp(ref + n - post, star + 1) == 0;
}

bool bf_git_patterns_match(char *const *patterns, size_t n, const char *ref)
{
	for (size_t i = 0; i < n; i++)
		if (bf_git_pattern_match(patterns[i], ref))
			return true;
	return false;
}
