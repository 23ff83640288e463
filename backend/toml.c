/* Strict recursive-descent parser for the TOML v1.0 subset described in
 * toml.h.
 *
 * The whole input is checked once up front (valid UTF-8, no NUL byte, every
 * CR part of a CRLF), so the parser proper can copy multi-byte characters
 * blindly and treat '\r' as the first half of a line break. Every string it
 * produces is either copied from that validated text or encoded from a
 * checked Unicode scalar value, hence valid UTF-8 without NUL. */
#include "toml.h"
#include "hex_digit.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/stdlib.h>

#include "cleanup.h"

/* Arrays are parsed recursively; this bounds the C stack depth. */
#define MAX_ARRAY_DEPTH 32

/* Longest excerpt of offending input quoted in a message. */
#define MAX_QUOTED_TOKEN 40

struct parser {
	const char *cur;
	const char *end;
	int line;           /* 1-based line of `cur` */
	int depth;          /* current array nesting */
	int err_line;
	struct bf_error *err;
};

static void toml_freep(struct toml_value **value)
{
	toml_free(*value);
}

#define cleanup_toml __attribute__((cleanup(toml_freep)))

/* ---- errors ---- */

__attribute__((format(printf, 3, 4)))
static int fail_at(struct parser *ps, int line, const char *fmt, ...)
{
	char msg[BF_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->err_line = line;
	return bf_error_set(ps->err, EINVAL, "%s", msg);
}

#define fail(ps, ...) fail_at((ps), (ps)->line, __VA_ARGS__)

static int fail_oom(struct parser *ps)
{
	ps->err_line = 0;
	return bf_error_set(ps->err, ENOMEM, "out of memory");
}

/* ---- character classes and cursor helpers ---- */

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_bare_key_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       is_digit(c) || c == '_' || c == '-';
}

/* Characters of unquoted values: integers, booleans, and the floats and
 * dates we recognise only to refuse them by name. */
static bool is_token_char(int c)
{
	return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

/* TOML forbids these in comments and strings (tab is fine). */
static bool is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

static bool is_printable_ascii(int c)
{
	return c > 0x20 && c < 0x7f;
}

static int peek_at(const struct parser *ps, size_t offset)
{
	if ((size_t)(ps->end - ps->cur) <= offset)
		return -1;
	return (unsigned char)ps->cur[offset];
}

static int peek(const struct parser *ps)
{
	return peek_at(ps, 0);
}

static bool at_end(const struct parser *ps)
{
	return ps->cur >= ps->end;
}

/* A lone CR was rejected up front, so '\r' always starts a CRLF. */
static bool at_newline(const struct parser *ps)
{
	int c = peek(ps);

	return c == '\n' || c == '\r';
}

static void skip_newline(struct parser *ps)
{
	if (*ps->cur == '\r')
		ps->cur++;
	ps->cur++;
	ps->line++;
}

static void skip_ws(struct parser *ps)
{
	while (peek(ps) == ' ' || peek(ps) == '\t')
		ps->cur++;
}

/* ---- up-front encoding check ---- */

/* TOML allows a leading UTF-8 byte order mark; it carries no meaning. */
static void skip_bom(struct parser *ps)
{
	if (peek_at(ps, 0) == 0xef && peek_at(ps, 1) == 0xbb &&
	    peek_at(ps, 2) == 0xbf)
		ps->cur += 3;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is malformed,
 * overlong, a surrogate or beyond U+10FFFF. */
static size_t utf8_sequence_len(const unsigned char *s, size_t n)
{
	static const uint32_t min_for_len[] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min_for_len[len] || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int check_encoding(struct parser *ps)
{
	const unsigned char *s = (const unsigned char *)ps->cur;
	size_t n = (size_t)(ps->end - ps->cur);
	int line = 1;
	size_t i = 0;

	while (i < n) {
		size_t len;

		if (s[i] == '\0')
			return fail_at(ps, line, "NUL byte is not allowed");
		if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			return fail_at(ps, line,
				       "carriage return without line feed");
		if (s[i] == '\n')
			line++;
		len = utf8_sequence_len(s + i, n - i);
		if (len == 0)
			return fail_at(ps, line, "invalid UTF-8");
		i += len;
	}
	return 0;
}

/* ---- growable string buffer ---- */

struct strbuf {
	char *ptr;
	size_t len;
	size_t cap;         /* always > len once allocated, room for the NUL */
};

static int sb_append(struct parser *ps, struct strbuf *sb, const char *s,
		     size_t n)
{
	if (sb->cap - sb->len <= n) {
		size_t cap = sb->cap ? sb->cap : 16;
		char *ptr;

		while (cap - sb->len <= n)
			cap *= 2;
		ptr = realloc(sb->ptr, cap);
		if (!ptr)
			return fail_oom(ps);
		sb->ptr = ptr;
		sb->cap = cap;
	}
	if (n)
		memcpy(sb->ptr + sb->len, s, n);
	sb->len += n;
	sb->ptr[sb->len] = '\0';
	return 0;
}

/* ---- strings ---- */

static size_t utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* `cur` is at the 'u' or 'U' of \uXXXX / \UXXXXXXXX. */
static int parse_unicode_escape(struct parser *ps, struct strbuf *sb,
				int digits)
{
	const char *start = ps->cur;
	uint32_t cp = 0;
	char utf8[4];

	ps->cur++;
	for (int i = 0; i < digits; i++) {
		int v = bf_hex_digit(peek(ps));

		if (v < 0)
			return fail(ps, "invalid escape \\%c: expected %d hex digits",
				    *start, digits);
		cp = cp << 4 | (uint32_t)v;
		ps->cur++;
	}
	if (cp == 0)
		return fail(ps, "NUL is not allowed in strings");
	if (cp >= 0xd800 && cp <= 0xdfff)
		return fail(ps, "invalid escape \\%.*s: surrogate code point",
			    digits + 1, start);
	if (cp > 0x10ffff)
		return fail(ps, "invalid escape \\%.*s: beyond U+10FFFF",
			    digits + 1, start);
	return sb_append(ps, sb, utf8, utf8_encode(cp, utf8));
}

/* `cur` is just past a backslash in a basic string. */
static int parse_escape(struct parser *ps, struct strbuf *sb)
{
	int c = peek(ps);
	const char *decoded;

	switch (c) {
	case 'b': decoded = "\b"; break;
	case 't': decoded = "\t"; break;
	case 'n': decoded = "\n"; break;
	case 'f': decoded = "\f"; break;
	case 'r': decoded = "\r"; break;
	case '"': decoded = "\""; break;
	case '\\': decoded = "\\"; break;
	case 'u': return parse_unicode_escape(ps, sb, 4);
	case 'U': return parse_unicode_escape(ps, sb, 8);
	default:
		if (is_printable_ascii(c))
			return fail(ps, "invalid escape \\%c", c);
		return fail(ps, "invalid escape sequence");
	}
	ps->cur++;
	return sb_append(ps, sb, decoded, 1);
}

/* In a multi-line basic string, a backslash followed by optional blanks and
 * a line break joins lines: the break and all following whitespace vanish.
 * `cur` is just past the backslash; returns false (consuming nothing) if
 * this is an ordinary escape instead. */
static bool skip_line_ending_backslash(struct parser *ps)
{
	size_t n = 0;

	while (peek_at(ps, n) == ' ' || peek_at(ps, n) == '\t')
		n++;
	if (peek_at(ps, n) != '\n' && peek_at(ps, n) != '\r')
		return false;
	ps->cur += n;
	for (;;) {
		skip_ws(ps);
		if (!at_newline(ps))
			return true;
		skip_newline(ps);
	}
}

/* At a quote inside a multi-line string: a run of fewer than three quotes
 * is content; otherwise the last three close the string and up to two
 * before them are content (so `""""` ends a string with one quote). Any
 * further quotes are left for the caller to reject as trailing garbage.
 * Returns 1 if the string was closed, 0 if not, or an error. */
static int ml_quotes(struct parser *ps, struct strbuf *sb, char quote)
{
	char run[5];
	size_t n = 0;
	bool closed;
	int r;

	while (n < sizeof(run) && peek_at(ps, n) == quote)
		run[n++] = quote;
	closed = n >= 3;
	ps->cur += n;
	r = sb_append(ps, sb, run, closed ? n - 3 : n);
	return r < 0 ? r : closed;
}

/* Multi-line strings drop a line break directly after the opener. */
static void skip_first_newline(struct parser *ps)
{
	if (at_newline(ps))
		skip_newline(ps);
}

/* A backslash in a basic string; `cur` is at it. */
static int parse_backslash(struct parser *ps, struct strbuf *sb,
			   bool multiline)
{
	ps->cur++;
	if (multiline && skip_line_ending_backslash(ps))
		return 0;
	if (at_end(ps) || (!multiline && at_newline(ps)))
		return 0;       /* the caller reports the unterminated string */
	return parse_escape(ps, sb);
}

/* Body of a string; `cur` is just past the opening delimiter. Basic
 * strings (quote '"') process escapes, literal strings (quote '\'') not. */
static int parse_string_body(struct parser *ps, struct strbuf *sb,
			     char quote, bool multiline, int start_line)
{
	if (multiline)
		skip_first_newline(ps);
	for (;;) {
		int c = peek(ps);
		int r;

		if (c < 0 || (!multiline && at_newline(ps)))
			return fail_at(ps, multiline ? start_line : ps->line,
				       "unterminated string");
		if (c == quote && !multiline) {
			ps->cur++;
			return 0;
		}
		if (c == quote) {
			r = ml_quotes(ps, sb, quote);
			if (r != 0)
				return r < 0 ? r : 0;
			continue;
		}
		if (c == '\\' && quote == '"') {
			r = parse_backslash(ps, sb, multiline);
		} else if (at_newline(ps)) {
			skip_newline(ps);
			r = sb_append(ps, sb, "\n", 1);
		} else if (is_control(c)) {
			return fail(ps, "control character U+%04X is not allowed in strings",
				    (unsigned)c);
		} else {
			r = sb_append(ps, sb, ps->cur++, 1);
		}
		if (r < 0)
			return r;
	}
}

/* Parses any string form at `cur` (a quote). Keys may not be multi-line:
 * with allow_multiline false, `"""` reads as an empty string followed by
 * a stray quote, which the caller then rejects. On success *out is a
 * malloc'ed NUL-terminated string of *len bytes. */
static int parse_string(struct parser *ps, bool allow_multiline, char **out,
			size_t *len)
{
	struct strbuf sb = { 0 };
	int start_line = ps->line;
	char quote = *ps->cur;
	bool multiline = allow_multiline && peek_at(ps, 1) == quote &&
			 peek_at(ps, 2) == quote;
	int r;

	ps->cur += multiline ? 3 : 1;
	r = parse_string_body(ps, &sb, quote, multiline, start_line);
	if (r == 0)
		r = sb_append(ps, &sb, "", 0);  /* allocates "" if empty */
	if (r < 0) {
		free(sb.ptr);
		return r;
	}
	*out = sb.ptr;
	*len = sb.len;
	return 0;
}

/* ---- values ---- */

static struct toml_value *new_value(struct parser *ps, enum toml_type type,
				    int line)
{
	struct toml_value *value = calloc(1, sizeof(*value));

	if (!value) {
		fail_oom(ps);
		return NULL;
	}
	value->type = type;
	value->line = line;
	return value;
}

/* Arrays and tables keep no capacity field: capacity is implied to be the
 * next power of two >= len, so grow exactly when len is 0 or a power of 2. */
static bool needs_growth(size_t len)
{
	return (len & (len - 1)) == 0;
}

static int array_push(struct parser *ps, struct toml_value *array,
		      struct toml_value *item)
{
	size_t len = array->u.array.len;

	if (needs_growth(len)) {
		struct toml_value **items = reallocarray(array->u.array.items,
							 len ? len * 2 : 1,
							 sizeof(*items));
		if (!items)
			return fail_oom(ps);
		array->u.array.items = items;
	}
	array->u.array.items[len] = item;
	array->u.array.len = len + 1;
	return 0;
}

/* Takes ownership of key and value only on success. */
static int table_push(struct parser *ps, struct toml_value *table, char *key,
		      int line, struct toml_value *value)
{
	size_t len = table->u.table.len;

	if (needs_growth(len)) {
		struct toml_kv *items = reallocarray(table->u.table.items,
						     len ? len * 2 : 1,
						     sizeof(*items));
		if (!items)
			return fail_oom(ps);
		table->u.table.items = items;
	}
	table->u.table.items[len] = (struct toml_kv){
		.key = key, .line = line, .value = value,
	};
	table->u.table.len = len + 1;
	return 0;
}

static int parse_string_value(struct parser *ps, struct toml_value **out)
{
	struct toml_value *value;
	char *str;
	size_t len;
	int line = ps->line;
	int r = parse_string(ps, true, &str, &len);

	if (r < 0)
		return r;
	value = new_value(ps, TOML_STRING, line);
	if (!value) {
		free(str);
		return -ENOMEM;
	}
	value->u.str.ptr = str;
	value->u.str.len = len;
	*out = value;
	return 0;
}

static bool token_equals(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(tok, word, n) == 0;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* 1979-05-27... or 07:32:00... */
static bool looks_like_datetime(const char *tok, size_t n)
{
	return (n >= 5 && all_digits(tok, 4) && tok[4] == '-') ||
	       (n >= 3 && all_digits(tok, 2) && tok[2] == ':');
}

/* inf, nan, or digits with a fraction and/or exponent. */
static bool looks_like_float(const char *tok, size_t n)
{
	size_t i = (tok[0] == '+' || tok[0] == '-') ? 1 : 0;
	bool has_float_part = false;

	if (token_equals(tok + i, n - i, "inf") ||
	    token_equals(tok + i, n - i, "nan"))
		return true;
	if (i == n || !is_digit(tok[i]))
		return false;
	for (; i < n; i++) {
		if (tok[i] == '.' || tok[i] == 'e' || tok[i] == 'E')
			has_float_part = true;
		else if (!is_digit(tok[i]) && tok[i] != '_' &&
			 tok[i] != '+' && tok[i] != '-')
			return false;
	}
	return has_float_part;
}

static bool looks_like_radix_integer(const char *tok, size_t n)
{
	size_t i = (tok[0] == '+' || tok[0] == '-') ? 1 : 0;

	return n - i >= 2 && tok[i] == '0' &&
	       (tok[i + 1] == 'x' || tok[i + 1] == 'o' || tok[i + 1] == 'b');
}

static int fail_invalid_token(struct parser *ps, const char *tok, size_t n)
{
	/* Tokens are ASCII, so truncating cannot split a character. */
	return fail(ps, "invalid value \"%.*s\"",
		    (int)(n > MAX_QUOTED_TOKEN ? MAX_QUOTED_TOKEN : n), tok);
}

/* Decimal integer: [+-] digits, `_` only between digits, no leading 0. */
static int parse_integer(struct parser *ps, const char *tok, size_t n,
			 long long *out)
{
	size_t i = (tok[0] == '+' || tok[0] == '-') ? 1 : 0;
	bool negative = tok[0] == '-';
	unsigned long long limit = negative ? (unsigned long long)LLONG_MAX + 1
					    : (unsigned long long)LLONG_MAX;
	unsigned long long magnitude = 0;

	if (i == n || !is_digit(tok[i]))
		return fail_invalid_token(ps, tok, n);
	if (tok[i] == '0' && i + 1 < n)
		return fail(ps, "leading zeros are not allowed in integers");
	for (; i < n; i++) {
		unsigned digit;

		if (tok[i] == '_') {
			/* tok[i - 1] exists: the first character is a digit */
			if (!is_digit(tok[i - 1]) || i + 1 == n ||
			    !is_digit(tok[i + 1]))
				return fail(ps, "underscores in integers must be between digits");
			continue;
		}
		if (!is_digit(tok[i]))
			return fail_invalid_token(ps, tok, n);
		digit = (unsigned)(tok[i] - '0');
		if (magnitude > (limit - digit) / 10)
			return fail(ps, "integer out of range");
		magnitude = magnitude * 10 + digit;
	}
	if (!negative)
		*out = (long long)magnitude;
	else if (magnitude == limit)
		*out = LLONG_MIN;
	else
		*out = -(long long)magnitude;
	return 0;
}

/* Unquoted values: booleans and integers, plus the TOML forms we refuse. */
static int parse_bare_value(struct parser *ps, struct toml_value **out)
{
	const char *tok = ps->cur;
	struct toml_value *value;
	long long integer = 0;
	size_t n = 0;

	while (is_token_char(peek_at(ps, n)))
		n++;
	if (n == 0) {
		if (is_printable_ascii(peek(ps)))
			return fail(ps, "expected a value, found '%c'", peek(ps));
		return fail(ps, "expected a value");
	}
	if (token_equals(tok, n, "true") || token_equals(tok, n, "false")) {
		value = new_value(ps, TOML_BOOLEAN, ps->line);
		if (!value)
			return -ENOMEM;
		value->u.boolean = tok[0] == 't';
	} else {
		if (looks_like_datetime(tok, n))
			return fail(ps, "dates and times are not supported");
		if (looks_like_float(tok, n))
			return fail(ps, "floats are not supported");
		if (looks_like_radix_integer(tok, n))
			return fail(ps, "only decimal integers are supported");
		int r = parse_integer(ps, tok, n, &integer);

		if (r < 0)
			return r;
		value = new_value(ps, TOML_INTEGER, ps->line);
		if (!value)
			return -ENOMEM;
		value->u.integer = integer;
	}
	ps->cur += n;
	*out = value;
	return 0;
}

static int skip_comment(struct parser *ps)
{
	ps->cur++;      /* '#' */
	while (!at_end(ps) && !at_newline(ps)) {
		int c = peek(ps);

		if (is_control(c))
			return fail(ps, "control character U+%04X is not allowed in comments",
				    (unsigned)c);
		ps->cur++;
	}
	return 0;
}

/* Whitespace, line breaks and comments may appear anywhere in an array. */
static int skip_array_space(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		if (peek(ps) == '#') {
			int r = skip_comment(ps);

			if (r < 0)
				return r;
		} else if (at_newline(ps)) {
			skip_newline(ps);
		} else {
			return 0;
		}
	}
}

static int parse_value(struct parser *ps, struct toml_value **out);

static int parse_array_items(struct parser *ps, struct toml_value *array)
{
	for (;;) {
		struct toml_value *item = NULL;
		int r = skip_array_space(ps);

		if (r < 0)
			return r;
		if (at_end(ps))
			return fail_at(ps, array->line, "unterminated array");
		if (peek(ps) == ']') {
			ps->cur++;
			return 0;
		}
		r = parse_value(ps, &item);
		if (r < 0)
			return r;
		r = array_push(ps, array, item);
		if (r < 0) {
			toml_free(item);
			return r;
		}
		r = skip_array_space(ps);
		if (r < 0)
			return r;
		if (at_end(ps))
			return fail_at(ps, array->line, "unterminated array");
		if (peek(ps) == ']') {
			ps->cur++;
			return 0;
		}
		if (peek(ps) != ',')
			return fail(ps, "expected ',' or ']' in array");
		ps->cur++;
	}
}

static int parse_array(struct parser *ps, struct toml_value **out)
{
	cleanup_toml struct toml_value *array = NULL;
	int r;

	if (ps->depth >= MAX_ARRAY_DEPTH)
		return fail(ps, "arrays nested too deeply");
	array = new_value(ps, TOML_ARRAY, ps->line);
	if (!array)
		return -ENOMEM;
	ps->cur++;      /* '[' */
	ps->depth++;
	r = parse_array_items(ps, array);
	ps->depth--;
	if (r < 0)
		return r;
	*out = array;
	array = NULL;
	return 0;
}

static int parse_value(struct parser *ps, struct toml_value **out)
{
	switch (peek(ps)) {
	case '"':
	case '\'':
		return parse_string_value(ps, out);
	case '[':
		return parse_array(ps, out);
	case '{':
		return fail(ps, "inline tables are not supported");
	default:
		return parse_bare_value(ps, out);
	}
}

/* ---- keys, tables, document ---- */

/* `what` names the expected thing in messages ("a key", "a table name"). */
static int parse_key(struct parser *ps, const char *what, char **out)
{
	size_t n = 0;
	int c = peek(ps);

	if (c == '"' || c == '\'')
		return parse_string(ps, false, out, &n);
	while (is_bare_key_char(peek_at(ps, n)))
		n++;
	if (n == 0) {
		if (is_printable_ascii(c))
			return fail(ps, "expected %s, found '%c'", what, c);
		return fail(ps, "expected %s", what);
	}
	*out = strndup(ps->cur, n);
	if (!*out)
		return fail_oom(ps);
	ps->cur += n;
	return 0;
}

/* After a value or header only blanks and a comment may end the line. */
static int expect_line_end(struct parser *ps, const char *after)
{
	skip_ws(ps);
	if (peek(ps) == '#') {
		int r = skip_comment(ps);

		if (r < 0)
			return r;
	}
	if (at_end(ps))
		return 0;
	if (!at_newline(ps))
		return fail(ps, "expected end of line after %s", after);
	skip_newline(ps);
	return 0;
}

static int fail_duplicate(struct parser *ps, const struct toml_kv *first)
{
	return fail(ps, "duplicate %s \"%s\" (first defined on line %d)",
		    first->value->type == TOML_TABLE ? "table" : "key",
		    first->key, first->line);
}

static int parse_keyval(struct parser *ps, struct toml_value *table)
{
	cleanup_free char *key = NULL;
	cleanup_toml struct toml_value *value = NULL;
	const struct toml_kv *first;
	int line = ps->line;
	int r = parse_key(ps, "a key", &key);

	if (r < 0)
		return r;
	skip_ws(ps);
	if (peek(ps) == '.')
		return fail(ps, "dotted keys are not supported");
	if (peek(ps) != '=')
		return fail(ps, "expected '=' after key \"%s\"", key);
	ps->cur++;
	first = toml_table_get(table, key);
	if (first)
		return fail_duplicate(ps, first);
	skip_ws(ps);
	r = parse_value(ps, &value);
	if (r < 0)
		return r;
	r = table_push(ps, table, key, line, value);
	if (r < 0)
		return r;
	key = NULL;
	value = NULL;
	return expect_line_end(ps, "value");
}

/* `[[name]]`: a new table appended to the root's array `name` (made by
 * the first such header; a plain `name = [...]` array cannot be added to). */
static int parse_array_table_header(struct parser *ps, struct toml_value *root,
				    struct toml_value **current)
{
	cleanup_free char *name = NULL;
	cleanup_toml struct toml_value *table = NULL;
	const struct toml_kv *first;
	struct toml_value *array;
	int line = ps->line;
	int r;

	ps->cur += 2;   /* '[[' */
	skip_ws(ps);
	r = parse_key(ps, "an array of tables' name", &name);
	if (r < 0)
		return r;
	skip_ws(ps);
	if (peek(ps) == '.')
		return fail(ps, "nested tables are not supported");
	if (peek(ps) != ']' || peek_at(ps, 1) != ']')
		return fail(ps, "expected ']]' after \"%s\"", name);
	ps->cur += 2;
	first = toml_table_get(root, name);
	if (first && (first->value->type != TOML_ARRAY || !first->value->u.array.of_tables))
		return fail_duplicate(ps, first);
	if (first) {
		array = first->value;
	} else {
		cleanup_toml struct toml_value *fresh = new_value(ps, TOML_ARRAY, line);

		if (!fresh)
			return -ENOMEM;
		fresh->u.array.of_tables = true;
		r = table_push(ps, root, name, line, fresh);
		if (r < 0)
			return r;
		name = NULL;
		array = fresh;
		fresh = NULL;
	}
	table = new_value(ps, TOML_TABLE, line);
	if (!table)
		return -ENOMEM;
	r = array_push(ps, array, table);
	if (r < 0)
		return r;
	*current = table;
	table = NULL;
	return expect_line_end(ps, "table header");
}

/* `[name]`: one level only, so every table lives directly in the root. */
static int parse_table_header(struct parser *ps, struct toml_value *root,
			      struct toml_value **current)
{
	cleanup_free char *name = NULL;
	cleanup_toml struct toml_value *table = NULL;
	const struct toml_kv *first;
	int line = ps->line;
	int r;

	if (peek_at(ps, 1) == '[')
		return parse_array_table_header(ps, root, current);
	ps->cur++;      /* '[' */
	skip_ws(ps);
	r = parse_key(ps, "a table name", &name);
	if (r < 0)
		return r;
	skip_ws(ps);
	if (peek(ps) == '.')
		return fail(ps, "nested tables are not supported");
	if (peek(ps) != ']')
		return fail(ps, "expected ']' after table name \"%s\"", name);
	ps->cur++;
	first = toml_table_get(root, name);
	if (first)
		return fail_duplicate(ps, first);
	table = new_value(ps, TOML_TABLE, line);
	if (!table)
		return -ENOMEM;
	r = table_push(ps, root, name, line, table);
	if (r < 0)
		return r;
	*current = table;
	name = NULL;
	table = NULL;
	return expect_line_end(ps, "table header");
}

static int parse_document(struct parser *ps, struct toml_value *root)
{
	struct toml_value *current = root;

	for (;;) {
		int r;

		skip_ws(ps);
		if (at_end(ps))
			return 0;
		if (peek(ps) == '#' || at_newline(ps))
			r = expect_line_end(ps, "comment");
		else if (peek(ps) == '[')
			r = parse_table_header(ps, root, &current);
		else
			r = parse_keyval(ps, current);
		if (r < 0)
			return r;
	}
}

/* ---- public API ---- */

struct toml_value *toml_parse(const char *text, size_t len,
			      struct bf_error *err, int *err_line)
{
	struct parser ps = { .line = 1, .err = err };
	struct toml_value *root = NULL;
	int r;

	if (!text) {    /* (NULL, 0) is an empty document; avoid NULL + 0 */
		text = "";
		len = 0;
	}
	ps.cur = text;
	ps.end = text + len;
	skip_bom(&ps);
	r = check_encoding(&ps);
	if (r == 0) {
		root = new_value(&ps, TOML_TABLE, 1);
		r = root ? parse_document(&ps, root) : -ENOMEM;
	}
	if (err_line)
		*err_line = r < 0 ? ps.err_line : 0;
	if (r < 0) {
		toml_free(root);
		return NULL;
	}
	return root;
}

void toml_free(struct toml_value *value)
{
	if (!value)
		return;
	switch (value->type) {
	case TOML_STRING:
		free(value->u.str.ptr);
		break;
	case TOML_ARRAY:
		for (size_t i = 0; i < value->u.array.len; i++)
			toml_free(value->u.array.items[i]);
		free(value->u.array.items);
		break;
	case TOML_TABLE:
		for (size_t i = 0; i < value->u.table.len; i++) {
			free(value->u.table.items[i].key);
			toml_free(value->u.table.items[i].value);
		}
		free(value->u.table.items);
		break;
	case TOML_INTEGER:
	case TOML_BOOLEAN:
		break;
	}
	free(value);
}

const struct toml_kv *toml_table_get(const struct toml_value *table,
				     const char *key)
{
	if (!table || table->type != TOML_TABLE || !key)
		return NULL;
	for (size_t i = 0; i < table->u.table.len; i++)
		if (strcmp(table->u.table.items[i].key, key) == 0)
			return &table->u.table.items[i];
	return NULL;
}

const char *toml_type_name(enum toml_type type)
{
	switch (type) {
	case TOML_STRING: return "string";
	case TOML_INTEGER: return "integer";
	case TOML_BOOLEAN: return "boolean";
	case TOML_ARRAY: return "array";
	case TOML_TABLE: return "table";
	}
	return "unknown";
}
