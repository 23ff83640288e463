#include "ctl_msg.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int bf_ctl_parse(const char *msg, size_t len, const struct bf_ctl_cmd *table, size_t n,
		 const char *usage, struct bf_ctl_msg *out, struct bf_error *err)
{
	char *save = NULL, *w;
	size_t i;

	out->argc = 0;
	if (len > BF_CTL_MSG_MAX || memchr(msg, '\0', len))
		return bf_error_set(err, EINVAL, "control message too long or not text");
	memcpy(out->text, msg, len);
	out->text[len] = '\0';
	for (w = strtok_r(out->text, " \t\n", &save); w && out->argc < BF_CTL_MAX_WORDS;
	     w = strtok_r(NULL, " \t\n", &save))
		out->words[out->argc++] = w;
	if (out->argc == 0)
		return bf_error_set(err, EINVAL, "empty control message");
	for (i = 0; i < n; i++)
		if (strcmp(out->words[0], table[i].name) == 0)
			break;
	if (i == n)
		return bf_error_set(err, EINVAL, "unknown control message \"%.64s\" (%s)", out->words[0],
				    usage);
	out->cmd = i;
	if (out->argc - 1 < table[i].min_args || out->argc - 1 > table[i].max_args || w)
		return bf_error_set(err, EINVAL, "bad # args to \"%s\"", table[i].name);
	return 0;
}

int bf_signal_parse(const char *word)
{
	const char *name = word;
	char *end;
	long v;
	int i;

	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	v = strtol(name, &end, 10);
	if (*name && !*end)
		return v > 0 && v < NSIG ? (int)v : -1;
	for (i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && strcasecmp(abbrev, name) == 0)
			return i;
	}
	return -1;
}

/* One decimal count, 1..BF_TERM_SIZE_MAX, digits only (no sign, no
 * blanks), ending at `stop`. */
static const char *size_count(const char *p, char stop, unsigned *out)
{
	unsigned v = 0;
	const char *start = p;

	while (*p >= '0' && *p <= '9' && p - start < 5)
		v = v * 10 + (unsigned)(*p++ - '0');
	if (p == start || *p != stop || v == 0 || v > BF_TERM_SIZE_MAX)
		return NULL;
	*out = v;
	return p;
}

int bf_term_size_parse(const char *word, unsigned *cols, unsigned *rows)
{
	unsigned c, r;
	const char *p = size_count(word, 'x', &c);

	if (!p || !size_count(p + 1, '\0', &r))
		return -EINVAL;
	*cols = c;
	*rows = r;
	return 0;
}
