/* libFuzzer target for backend/toml.c: parses arbitrary bytes and, when the
 * parse succeeds, walks the tree checking the invariants toml.h promises.
 * Any violation abort()s so the fuzzer records it as a crash. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "toml.h"

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			abort();        \
	} while (0)

/* Independent of the parser's own validator on purpose. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t len;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			len = 2;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			len = 3;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			len = 4;
			cp = s[i] & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static void check_string(const char *s, size_t len)
{
	CHECK(s != NULL);
	CHECK(strlen(s) == len);        /* also proves there is no NUL inside */
	CHECK(valid_utf8((const unsigned char *)s, len));
}

static void check_value(const struct toml_value *v, int max_line, int depth)
{
	CHECK(v != NULL);
	CHECK(v->line >= 1 && v->line <= max_line);
	CHECK(depth <= 64);
	switch (v->type) {
	case TOML_STRING:
		check_string(v->u.str.ptr, v->u.str.len);
		break;
	case TOML_INTEGER:
		break;
	case TOML_BOOLEAN:
		CHECK(v->u.boolean == true || v->u.boolean == false);
		break;
	case TOML_ARRAY:
		CHECK(v->u.array.len == 0 || v->u.array.items != NULL);
		for (size_t i = 0; i < v->u.array.len; i++) {
			CHECK(v->u.array.items[i]->line >= v->line);
			check_value(v->u.array.items[i], max_line, depth + 1);
		}
		break;
	case TOML_TABLE:
		CHECK(v->u.table.len == 0 || v->u.table.items != NULL);
		for (size_t i = 0; i < v->u.table.len; i++) {
			const struct toml_kv *kv = &v->u.table.items[i];

			check_string(kv->key, strlen(kv->key));
			CHECK(kv->line >= 1 && kv->line <= max_line);
			/* a value starts on its key's line (or is the header's table) */
			CHECK(kv->value != NULL && kv->value->line == kv->line);
			/* keys are unique, so lookup finds this very entry */
			CHECK(toml_table_get(v, kv->key) == kv);
			check_value(kv->value, max_line, depth + 1);
		}
		break;
	default:
		abort();
	}
	CHECK(strcmp(toml_type_name(v->type), "unknown") != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bf_error err = { 0 };
	int err_line = -1;
	int lines = 1;
	struct toml_value *root;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	root = toml_parse((const char *)data, size, &err, &err_line);
	if (!root) {
		CHECK(err.code == EINVAL || err.code == ENOMEM);
		CHECK(err.msg[0] != '\0');
		CHECK(err_line >= 0 && err_line <= lines);
		CHECK(err.code == ENOMEM || err_line >= 1);
		return 0;
	}
	CHECK(err_line == 0);
	CHECK(root->type == TOML_TABLE);
	check_value(root, lines, 0);
	toml_free(root);
	return 0;
}
