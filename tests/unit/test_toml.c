/* Unit tests for backend/toml.c: every supported feature, and every refused
 * construct with its error line and message. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "toml.h"

static const char manifest[] =
	"agent   = \"claude\"                 # required\n"
	"backend = \"oci\"\n"
	"image   = \"host\"\n"
	"user    = \"agent\"\n"
	"command = [\"sleep\", \"infinity\"]\n"
	"workdir = \"/work\"\n"
	"\n"
	"[env]\n"
	"ANTHROPIC_BASE_URL = \"https://api.anthropic.com\"\n"
	"\"WEIRD\\nKEY\" = 'literal \\n stays'\n"
	"\n"
	"[workspace]\n"
	"path = \"/home/me/repo\"\n"
	"mode = \"copy\"\n"
	"\n"
	"[network]\n"
	"allow = [\"api.anthropic.com\", \"*.githubusercontent.com\", \"registry.npmjs.org:443\"]\n"
	"\n"
	"[limits]\n"
	"cpus = 2\n"
	"memory = \"2G\"\n"
	"pids = 512\n";

/* ---- helpers ---- */

static struct toml_value *parse_len(const char *text, size_t len)
{
	struct bf_error err = { 0 };
	int line = -1;
	struct toml_value *root = toml_parse(text, len, &err, &line);

	if (!root)
		fprintf(stderr, "\nunexpected error on line %d: %s\n", line, err.msg);
	CU_ASSERT_EQUAL(line, 0);
	return root;
}

static struct toml_value *parse(const char *text)
{
	return parse_len(text, strlen(text));
}

static void expect_error_len(const char *text, size_t len, int line,
			     const char *msg_part)
{
	struct bf_error err = { 0 };
	int err_line = -1;
	struct toml_value *root = toml_parse(text, len, &err, &err_line);

	CU_ASSERT_PTR_NULL(root);
	toml_free(root);
	CU_ASSERT_EQUAL(err.code, EINVAL);
	CU_ASSERT_EQUAL(err_line, line);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, msg_part));
	if (err_line != line || !strstr(err.msg, msg_part))
		fprintf(stderr, "\nwanted line %d \"%s\", got line %d \"%s\"\n",
			line, msg_part, err_line, err.msg);
}

static void expect_error(const char *text, int line, const char *msg_part)
{
	expect_error_len(text, strlen(text), line, msg_part);
}

static const struct toml_value *get(const struct toml_value *table,
				    const char *key)
{
	const struct toml_kv *kv = toml_table_get(table, key);

	return kv ? kv->value : NULL;
}

static bool is_string(const struct toml_value *v, const char *expected)
{
	return v && v->type == TOML_STRING &&
	       v->u.str.len == strlen(expected) &&
	       strcmp(v->u.str.ptr, expected) == 0;
}

static bool is_integer(const struct toml_value *v, long long expected)
{
	return v && v->type == TOML_INTEGER && v->u.integer == expected;
}

/* Parses `a = <value>` and checks that a is the given string. */
static void expect_string_value(const char *doc, const char *expected)
{
	struct toml_value *root = parse(doc);

	CU_ASSERT_TRUE(is_string(get(root, "a"), expected));
	toml_free(root);
}

/* ---- the manifest ---- */

static void test_manifest_example(void)
{
	struct toml_value *root = parse(manifest);
	const struct toml_value *command, *env, *allow, *limits;

	CU_ASSERT_FATAL(root != NULL);
	CU_ASSERT_EQUAL(root->type, TOML_TABLE);
	CU_ASSERT_EQUAL(root->u.table.len, 10);
	CU_ASSERT_TRUE(is_string(get(root, "agent"), "claude"));
	CU_ASSERT_TRUE(is_string(get(root, "backend"), "oci"));
	CU_ASSERT_TRUE(is_string(get(root, "workdir"), "/work"));

	command = get(root, "command");
	CU_ASSERT_FATAL(command && command->type == TOML_ARRAY);
	CU_ASSERT_EQUAL(command->u.array.len, 2);
	CU_ASSERT_TRUE(is_string(command->u.array.items[1], "infinity"));

	env = get(root, "env");
	CU_ASSERT_FATAL(env && env->type == TOML_TABLE);
	CU_ASSERT_TRUE(is_string(get(env, "ANTHROPIC_BASE_URL"),
				 "https://api.anthropic.com"));
	CU_ASSERT_TRUE(is_string(get(env, "WEIRD\nKEY"), "literal \\n stays"));

	CU_ASSERT_TRUE(is_string(get(get(root, "workspace"), "mode"), "copy"));
	allow = get(get(root, "network"), "allow");
	CU_ASSERT_FATAL(allow && allow->type == TOML_ARRAY);
	CU_ASSERT_EQUAL(allow->u.array.len, 3);
	CU_ASSERT_TRUE(is_string(allow->u.array.items[2],
				 "registry.npmjs.org:443"));

	limits = get(root, "limits");
	CU_ASSERT_TRUE(is_integer(get(limits, "cpus"), 2));
	CU_ASSERT_TRUE(is_string(get(limits, "memory"), "2G"));
	CU_ASSERT_TRUE(is_integer(get(limits, "pids"), 512));
	toml_free(root);
}

static void test_line_numbers(void)
{
	struct toml_value *root = parse(manifest);
	const struct toml_kv *kv = toml_table_get(root, "env");
	const struct toml_value *allow;

	CU_ASSERT_FATAL(kv != NULL);
	CU_ASSERT_EQUAL(kv->line, 8);           /* header line */
	CU_ASSERT_EQUAL(kv->value->line, 8);
	CU_ASSERT_EQUAL(toml_table_get(kv->value, "WEIRD\nKEY")->line, 10);
	CU_ASSERT_EQUAL(toml_table_get(root, "command")->line, 5);
	allow = get(get(root, "network"), "allow");
	CU_ASSERT_EQUAL(allow->line, 17);
	toml_free(root);

	root = parse("\n\na = [\n  1,\n  \"x\",\n]\nb = \"\"\"\n\nz\"\"\"\nc = 3\n");
	CU_ASSERT_FATAL(root != NULL);
	CU_ASSERT_EQUAL(get(root, "a")->line, 3);
	CU_ASSERT_EQUAL(get(root, "a")->u.array.items[1]->line, 5);
	CU_ASSERT_EQUAL(toml_table_get(root, "c")->line, 10);
	toml_free(root);
}

/* ---- layout, comments, encoding ---- */

static void test_comments_and_blank_lines(void)
{
	struct toml_value *root = parse("# top\n\n  \t\n a = 1 # trailing\n# é ünïcode\tok\n");

	CU_ASSERT_TRUE(is_integer(get(root, "a"), 1));
	toml_free(root);

	root = parse("");
	CU_ASSERT_FATAL(root != NULL);
	CU_ASSERT_EQUAL(root->u.table.len, 0);
	toml_free(root);

	root = parse_len(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL(root);
	toml_free(root);

	expect_error("a = 1\n# bell \a\n", 2, "control character");
}

static void test_line_endings_and_bom(void)
{
	struct toml_value *root = parse("\xef\xbb\xbf" "a = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\n");

	CU_ASSERT_TRUE(is_integer(get(root, "a"), 1));
	CU_ASSERT_TRUE(is_string(get(root, "b"), "x\ny"));  /* CRLF normalized */
	toml_free(root);

	expect_error("a = 1\nb = 2\rc = 3\n", 2, "carriage return");
	expect_error("a = 1\n\xef\xbb\xbf" "b = 1\n", 2, "expected a key");
}

static void test_invalid_utf8(void)
{
	expect_error("a = \"\xff\"\n", 1, "invalid UTF-8");
	expect_error("a = 1\nb = \"\xc0\xaf\"\n", 2, "invalid UTF-8");   /* overlong */
	expect_error("a = \"\xed\xa0\x80\"\n", 1, "invalid UTF-8");       /* surrogate */
	expect_error("a = \"\xf4\x90\x80\x80\"\n", 1, "invalid UTF-8");   /* > U+10FFFF */
	expect_error("a = \"\xe2\x82\"", 1, "invalid UTF-8");             /* truncated */
}

static void test_nul_bytes(void)
{
	static const char in_string[] = "a = \"x\0y\"\n";
	static const char in_comment[] = "a = 1\n#\0\n";

	expect_error_len(in_string, sizeof(in_string) - 1, 1, "NUL");
	expect_error_len(in_comment, sizeof(in_comment) - 1, 2, "NUL");
	expect_error("a = \"\\u0000\"\n", 1, "NUL is not allowed in strings");
}

/* ---- keys ---- */

static void test_keys(void)
{
	struct toml_value *root = parse(
		"bare-key_1 = 1\n"
		"1234 = 2\n"
		"\"quoted \\\"key\\\" \\u00e9\" = 3\n"
		"'lit\\eral' = 4\n"
		"\"\" = 5\n");

	CU_ASSERT_TRUE(is_integer(get(root, "bare-key_1"), 1));
	CU_ASSERT_TRUE(is_integer(get(root, "1234"), 2));
	CU_ASSERT_TRUE(is_integer(get(root, "quoted \"key\" \xc3\xa9"), 3));
	CU_ASSERT_TRUE(is_integer(get(root, "lit\\eral"), 4));
	CU_ASSERT_TRUE(is_integer(get(root, ""), 5));
	toml_free(root);
}

static void test_key_errors(void)
{
	expect_error("a.b = 1\n", 1, "dotted keys are not supported");
	expect_error("\"a\" . b = 1\n", 1, "dotted keys are not supported");
	expect_error("x = 1\nagent \"claude\"\n", 2, "expected '=' after key \"agent\"");
	expect_error("= 1\n", 1, "expected a key");
	expect_error("a = 1\n\"\"\"k\"\"\" = 1\n", 2, "expected '='");
	expect_error("\"a\nb\" = 1\n", 1, "unterminated string");
}

static void test_duplicate_keys(void)
{
	expect_error("x = 1\ny = 2\n\nx = 3\n", 4,
		     "duplicate key \"x\" (first defined on line 1)");
	expect_error("\"k\" = 1\n'k' = 2\n", 2, "duplicate key \"k\"");
	expect_error("[t]\nk = 1\n\nk = 2\n", 4, "(first defined on line 2)");
}

/* ---- tables ---- */

static void test_tables(void)
{
	struct toml_value *root = parse(
		"top = 1\n"
		"[ first ]\n"
		"k = \"v\"\n"
		"[\"second table\"]  # comment\n"
		"[ 'third' ]\n"
		"k = 3\n");
	const struct toml_value *first;

	CU_ASSERT_FATAL(root != NULL);
	first = get(root, "first");
	CU_ASSERT_FATAL(first && first->type == TOML_TABLE);
	CU_ASSERT_TRUE(is_string(get(first, "k"), "v"));
	CU_ASSERT_EQUAL(get(root, "second table")->u.table.len, 0);
	CU_ASSERT_TRUE(is_integer(get(get(root, "third"), "k"), 3));
	CU_ASSERT_EQUAL(toml_table_get(root, "third")->line, 5);
	toml_free(root);
}

static void test_arrays_of_tables(void)
{
	struct toml_value *root = parse("a = 1\n[[mount]]\nsource = \"/s1\"\n[t]\nk = 2\n[[mount]]\nsource = \"/s2\"\nmode = \"rw\"\n");
	const struct toml_value *m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	m = get(root, "mount");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->type, TOML_ARRAY);
	CU_ASSERT(m->u.array.of_tables);
	CU_ASSERT_EQUAL_FATAL(m->u.array.len, 2);
	CU_ASSERT_EQUAL(m->u.array.items[0]->type, TOML_TABLE);
	CU_ASSERT_STRING_EQUAL(get(m->u.array.items[0], "source")->u.str.ptr, "/s1");
	CU_ASSERT_STRING_EQUAL(get(m->u.array.items[1], "mode")->u.str.ptr, "rw");
	CU_ASSERT_EQUAL(m->u.array.items[1]->line, 6);
	CU_ASSERT_EQUAL(get(get(root, "t"), "k")->u.integer, 2);
	toml_free(root);
}

static void test_table_errors(void)
{
	expect_error("[a.b]\n", 1, "nested tables are not supported");
	expect_error("x = [1]\n[[x]]\n", 2, "duplicate key \"x\" (first defined on line 1)");
	expect_error("[x]\n[[x]]\n", 2, "duplicate");
	expect_error("[[x]\n", 1, "expected ']]'");
	expect_error("[[x.y]]\n", 1, "nested tables are not supported");
	expect_error("[[x]] y = 1\n", 1, "expected end of line after table header");
	expect_error("[t]\n\n[t]\n", 3, "duplicate table \"t\" (first defined on line 1)");
	expect_error("mode = 1\n[mode]\n", 2, "duplicate key \"mode\" (first defined on line 1)");
	expect_error("[t\n", 1, "expected ']'");
	expect_error("[]\n", 1, "expected a table name");
	expect_error("[t] x = 1\n", 1, "expected end of line after table header");
}

/* ---- strings ---- */

static void test_basic_string_escapes(void)
{
	expect_string_value("a = \"\\b\\t\\n\\f\\r\\\"\\\\\"", "\b\t\n\f\r\"\\");
	expect_string_value("a = \"\\u00e9\\u20AC\\U0001F600\"",
			    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	expect_string_value("a = \"tab\tinside # not a comment\"",
			    "tab\tinside # not a comment");
	expect_string_value("a = \"\"", "");
}

static void test_escape_errors(void)
{
	expect_error("a = \"\\q\"\n", 1, "invalid escape \\q");
	expect_error("a = 1\nb = \"\\x41\"\n", 2, "invalid escape \\x");
	expect_error("a = \"\\u12\"\n", 1, "invalid escape \\u");
	expect_error("a = \"\\uD800\"\n", 1, "surrogate");
	expect_error("a = \"\\U00110000\"\n", 1, "U+10FFFF");
	expect_error("a = \"\\U00000000\"\n", 1, "NUL is not allowed in strings");
}

static void test_literal_strings(void)
{
	expect_string_value("a = 'C:\\path\\no\\escapes \"here\"'",
			    "C:\\path\\no\\escapes \"here\"");
	expect_string_value("a = ''", "");
}

static void test_multiline_basic_strings(void)
{
	expect_string_value("a = \"\"\"\nline1\n  line2\"\"\"", "line1\n  line2");
	expect_string_value("a = \"\"\"The quick \\\n\n    brown \\   \n  fox\"\"\"",
			    "The quick brown fox");
	expect_string_value("a = \"\"\"one \"quote\" and \"\"two\"\"\"\"\"",
			    "one \"quote\" and \"\"two\"\"");
	expect_string_value("a = \"\"\"\\u00e9\\n\"\"\"", "\xc3\xa9\n");
	expect_error("a = \"\"\"x\"\"\"\"\"\"\n", 1, "expected end of line after value");
	expect_error("a = \"\"\"x\\ y\"\"\"\n", 1, "invalid escape");
}

static void test_multiline_literal_strings(void)
{
	expect_string_value("a = '''\nraw \\n\n'quoted''\n'''", "raw \\n\n'quoted''\n");
	expect_string_value("a = '''x'''''", "x''");
}

static void test_unterminated_strings(void)
{
	expect_error("a = 1\nb = \"abc\nc = 2\n", 2, "unterminated string");
	expect_error("a = 'abc", 1, "unterminated string");
	expect_error("a = 1\nb = \"\"\"\nabc\n\n", 2, "unterminated string");
	expect_error("b = '''abc''\n", 1, "unterminated string");
	expect_error("a = \"abc\\", 1, "unterminated string");
}

static void test_control_chars_in_strings(void)
{
	expect_error("a = \"x\x01y\"\n", 1, "control character U+0001");
	expect_error("a = 'x\x7fy'\n", 1, "control character U+007F");
	expect_error("a = \"\"\"\nok\nx\x1b\"\"\"\n", 3, "control character");
	expect_string_value("a = '''\ttab\tok'''", "\ttab\tok");
}

/* ---- integers, booleans, refused scalars ---- */

static void test_integers(void)
{
	struct toml_value *root = parse(
		"zero = 0\npos = +17\nneg = -0\nsep = 1_000_000\n"
		"max = 9223372036854775807\nmin = -9223372036854775808\n");

	CU_ASSERT_TRUE(is_integer(get(root, "zero"), 0));
	CU_ASSERT_TRUE(is_integer(get(root, "pos"), 17));
	CU_ASSERT_TRUE(is_integer(get(root, "neg"), 0));
	CU_ASSERT_TRUE(is_integer(get(root, "sep"), 1000000));
	CU_ASSERT_TRUE(is_integer(get(root, "max"), LLONG_MAX));
	CU_ASSERT_TRUE(is_integer(get(root, "min"), LLONG_MIN));
	toml_free(root);
}

static void test_integer_errors(void)
{
	expect_error("a = 9223372036854775808\n", 1, "integer out of range");
	expect_error("a = 1\nb = -9223372036854775809\n", 2, "integer out of range");
	expect_error("a = 0123\n", 1, "leading zeros");
	expect_error("a = 1__0\n", 1, "underscores");
	expect_error("a = 10_\n", 1, "underscores");
	expect_error("a = 0xff\n", 1, "only decimal integers are supported");
	expect_error("a = 0o17\n", 1, "only decimal integers are supported");
	expect_error("a = 0b1\n", 1, "only decimal integers are supported");
	expect_error("a = +\n", 1, "invalid value \"+\"");
}

static void test_floats_and_dates_refused(void)
{
	expect_error("a = 1.5\n", 1, "floats are not supported");
	expect_error("a = 1e3\n", 1, "floats are not supported");
	expect_error("a = 1\nb = -inf\n", 2, "floats are not supported");
	expect_error("a = nan\n", 1, "floats are not supported");
	expect_error("a = 1979-05-27\n", 1, "dates and times are not supported");
	expect_error("a = 1979-05-27T07:32:00Z\n", 1, "dates and times are not supported");
	expect_error("a = 07:32:00\n", 1, "dates and times are not supported");
}

static void test_booleans(void)
{
	struct toml_value *root = parse("t = true\nf = false\n");
	const struct toml_value *t = get(root, "t"), *f = get(root, "f");

	CU_ASSERT_TRUE(t && t->type == TOML_BOOLEAN && t->u.boolean);
	CU_ASSERT_TRUE(f && f->type == TOML_BOOLEAN && !f->u.boolean);
	toml_free(root);
	expect_error("a = TRUE\n", 1, "invalid value \"TRUE\"");
	expect_error("a = yes\n", 1, "invalid value");
}

/* ---- arrays ---- */

static void test_arrays(void)
{
	struct toml_value *root = parse(
		"empty = []\n"
		"trailing = [1, 2,]\n"
		"multi = [ # opening comment\n"
		"  \"a\",   # first\n"
		"\n"
		"  'b'\n"
		"  , [true, [3]],\n"
		"]\n");
	const struct toml_value *multi, *inner;

	CU_ASSERT_FATAL(root != NULL);
	CU_ASSERT_EQUAL(get(root, "empty")->u.array.len, 0);
	CU_ASSERT_EQUAL(get(root, "trailing")->u.array.len, 2);
	multi = get(root, "multi");
	CU_ASSERT_FATAL(multi && multi->u.array.len == 3);
	CU_ASSERT_TRUE(is_string(multi->u.array.items[1], "b"));
	inner = multi->u.array.items[2];
	CU_ASSERT_FATAL(inner->type == TOML_ARRAY && inner->u.array.len == 2);
	CU_ASSERT_EQUAL(inner->u.array.items[0]->type, TOML_BOOLEAN);
	CU_ASSERT_TRUE(is_integer(inner->u.array.items[1]->u.array.items[0], 3));
	CU_ASSERT_EQUAL(inner->line, 7);
	toml_free(root);
}

static void test_array_errors(void)
{
	expect_error("a = [1 2]\n", 1, "expected ',' or ']' in array");
	expect_error("a = [1,,2]\n", 1, "expected a value");
	expect_error("a = [,]\n", 1, "expected a value");
	expect_error("x = 1\na = [\n1,\n2\n", 2, "unterminated array");
	expect_error("a = [1, {b = 2}]\n", 1, "inline tables are not supported");
	expect_error("a = [\n  1.5]\n", 2, "floats are not supported");
}

static void test_array_nesting_limit(void)
{
	char doc[200];
	struct toml_value *root;

	/* 32 levels are fine, 33 are not */
	snprintf(doc, sizeof(doc), "a = %.*s%.*s\n", 32,
		 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 32,
		 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	root = parse(doc);
	CU_ASSERT_PTR_NOT_NULL(root);
	toml_free(root);
	snprintf(doc, sizeof(doc), "\na = %.*s%.*s\n", 33,
		 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 33,
		 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	expect_error(doc, 2, "arrays nested too deeply");
}

/* ---- other refusals ---- */

static void test_inline_tables_refused(void)
{
	expect_error("a = 1\nb = { c = 1 }\n", 2, "inline tables are not supported");
}

static void test_value_line_errors(void)
{
	expect_error("a = \"x\" \"y\"\n", 1, "expected end of line after value");
	expect_error("a = 1\nb = 2 c = 3\n", 2, "expected end of line after value");
	expect_error("a = truex\n", 1, "invalid value");
	expect_error("a =\n1\n", 1, "expected a value");
	expect_error("a = 1 # ok\nb = 2 # bad \x01\n", 2, "control character");
}

static void test_api_helpers(void)
{
	struct toml_value *root = parse("s = 'x'\n");

	CU_ASSERT_PTR_NULL(toml_table_get(root, "missing"));
	CU_ASSERT_PTR_NULL(toml_table_get(get(root, "s"), "s"));
	CU_ASSERT_PTR_NULL(toml_table_get(NULL, "s"));
	CU_ASSERT_STRING_EQUAL(toml_type_name(TOML_STRING), "string");
	CU_ASSERT_STRING_EQUAL(toml_type_name(TOML_INTEGER), "integer");
	CU_ASSERT_STRING_EQUAL(toml_type_name(TOML_BOOLEAN), "boolean");
	CU_ASSERT_STRING_EQUAL(toml_type_name(TOML_ARRAY), "array");
	CU_ASSERT_STRING_EQUAL(toml_type_name(TOML_TABLE), "table");
	toml_free(root);
	toml_free(NULL);
}

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc func;
	} tests[] = {
		{ "manifest example", test_manifest_example },
		{ "line numbers", test_line_numbers },
		{ "comments and blank lines", test_comments_and_blank_lines },
		{ "line endings and BOM", test_line_endings_and_bom },
		{ "invalid UTF-8", test_invalid_utf8 },
		{ "NUL bytes", test_nul_bytes },
		{ "keys", test_keys },
		{ "key errors", test_key_errors },
		{ "duplicate keys", test_duplicate_keys },
		{ "tables", test_tables },
		{ "table errors", test_table_errors },
		{ "arrays of tables", test_arrays_of_tables },
		{ "basic string escapes", test_basic_string_escapes },
		{ "escape errors", test_escape_errors },
		{ "literal strings", test_literal_strings },
		{ "multi-line basic strings", test_multiline_basic_strings },
		{ "multi-line literal strings", test_multiline_literal_strings },
		{ "unterminated strings", test_unterminated_strings },
		{ "control characters in strings", test_control_chars_in_strings },
		{ "integers", test_integers },
		{ "integer errors", test_integer_errors },
		{ "floats and dates refused", test_floats_and_dates_refused },
		{ "booleans", test_booleans },
		{ "arrays", test_arrays },
		{ "array errors", test_array_errors },
		{ "array nesting limit", test_array_nesting_limit },
		{ "inline tables refused", test_inline_tables_refused },
		{ "errors after values", test_value_line_errors },
		{ "API helpers", test_api_helpers },
	};
	CU_pSuite suite;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return EXIT_FAILURE;
	suite = CU_add_suite("toml", NULL, NULL);
	if (!suite)
		goto fail;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].func))
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? EXIT_FAILURE : EXIT_SUCCESS;
fail:
	CU_cleanup_registry();
	return EXIT_FAILURE;
}
