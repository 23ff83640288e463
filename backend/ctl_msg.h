/* Control messages, after Plan 9's parsecmd/lookupcmd: one write is one
 * message of blank-separated words, the first naming a command of a
 * table with its bounds on arguments. Pure: no I/O, fuzzed on its own
 * (tests/fuzz/fuzz_ctl_msg.c). */
#ifndef BOTTLEFS_CTL_MSG_H
#define BOTTLEFS_CTL_MSG_H

#include <stddef.h>

#include "error.h"

#define BF_CTL_MSG_MAX 255
#define BF_CTL_MAX_WORDS 4

struct bf_ctl_cmd {
	const char *name;
	int min_args, max_args;
};

struct bf_ctl_msg {
	char text[BF_CTL_MSG_MAX + 1];
	char *words[BF_CTL_MAX_WORDS];  /* into text */
	int argc;                       /* words, the command included */
	size_t cmd;                     /* index into the table */
};

/* Parses msg[0..len) against table[0..n). 0, or -EINVAL with err saying
 * "unknown control message "X" (USAGE)" or "bad # args to "X"", where
 * USAGE is `usage`. */
int bf_ctl_parse(const char *msg, size_t len, const struct bf_ctl_cmd *table, size_t n,
		 const char *usage, struct bf_ctl_msg *out, struct bf_error *err);

#define BF_TERM_SIZE_MAX 9999

/* "COLSxROWS" (e.g. "120x40"), each 1..BF_TERM_SIZE_MAX -> 0; else -EINVAL. */
int bf_term_size_parse(const char *word, unsigned *cols, unsigned *rows);

/* "TERM", "SIGTERM", "term" or "15" -> 15; -1 if not a signal. */
int bf_signal_parse(const char *word);

#endif
