/* A strict parser for the TOML subset a bottlefs manifest uses.
 *
 * Supported: comments; bare and quoted keys; `[table]` headers (one level);
 * basic, literal and multi-line strings with every TOML escape; decimal
 * integers (with `_` separators and sign); booleans; arrays (nested,
 * multi-line, trailing comma, comments inside).
 * Refused with a clear message: dotted keys, nested table names, arrays of
 * tables, inline tables, floats, dates/times, hex/octal/binary integers,
 * duplicate keys or tables, invalid UTF-8, NUL in any string or key,
 * control characters outside strings' allowed set. */
#ifndef BOTTLEFS_TOML_H
#define BOTTLEFS_TOML_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum toml_type {
	TOML_STRING,
	TOML_INTEGER,
	TOML_BOOLEAN,
	TOML_ARRAY,
	TOML_TABLE,
};

struct toml_value;

struct toml_kv {
	char *key;                 /* NUL-terminated, valid UTF-8, no NUL inside */
	int line;                  /* 1-based line of the key (or table header) */
	struct toml_value *value;
};

struct toml_value {
	enum toml_type type;
	int line;                  /* 1-based line where the value starts */
	union {
		struct {
			char *ptr;         /* NUL-terminated, valid UTF-8, no NUL inside */
			size_t len;
		} str;
		long long integer;
		bool boolean;
		struct {
			struct toml_value **items;
			size_t len;
			bool of_tables;    /* made by [[name]] headers */
		} array;
		struct {
			struct toml_kv *items;   /* in document order */
			size_t len;
		} table;
	} u;
};

/* Parses text[0..len) (need not be NUL-terminated). Returns the root table,
 * or NULL with err set (code EINVAL, or ENOMEM) and *err_line set to the
 * 1-based line of the problem (0 if not line-related, e.g. ENOMEM; for an
 * unterminated array or multi-line string, the line where it starts).
 * err->msg does not repeat the line number. A NULL text with len 0 is an
 * empty document. */
struct toml_value *toml_parse(const char *text, size_t len,
			      struct bf_error *err, int *err_line);

void toml_free(struct toml_value *value);

/* Looks a key up in a table; NULL if absent or `table` is not a table. */
const struct toml_kv *toml_table_get(const struct toml_value *table,
				     const char *key);

/* "string", "integer", "boolean", "array", "table". */
const char *toml_type_name(enum toml_type type);

#endif
