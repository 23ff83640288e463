/* Quoting of arbitrary (valid UTF-8) strings for the generated files, so
 * that a parser reads back exactly the bytes the manifest held. */
#ifndef BOTTLEFS_QUOTE_H
#define BOTTLEFS_QUOTE_H

#include <stddef.h>

#include "buf.h"

/* TOML basic string, with its quotes. */
void bf_quote_toml(struct bf_buf *b, const char *s, size_t len);
/* YAML 1.1/1.2 double-quoted scalar, with its quotes: every character that
 * YAML would fold, normalise or reject is escaped. */
void bf_quote_yaml(struct bf_buf *b, const char *s, size_t len);
/* The `env` file's one-line form: backslash, and every control byte, as C
 * escapes (\\ \n \t \r \xNN); everything else verbatim. */
void bf_quote_env(struct bf_buf *b, const char *s, size_t len);

#endif
