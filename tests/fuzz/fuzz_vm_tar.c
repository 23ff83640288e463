/* libFuzzer target for backend/microvm/vm_tar.c (the tar of an exported
 * docker image): the first 512 bytes as a header, the rest as pax records
 * and as a member name. A parsed header's strings are terminated and
 * within bounds; a cleaned name is relative and holds no "." or ".."
 * component. Violations abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "microvm/vm_tar.h"

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			abort();        \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bf_tar_header h;
	unsigned char block[BF_TAR_BLOCK] = { 0 };
	char name[256], *text;

	memcpy(block, data, size < sizeof(block) ? size : sizeof(block));
	if (bf_tar_header_parse(block, &h) == 0) {
		CHECK(memchr(h.name, '\0', sizeof(h.name)));
		CHECK(memchr(h.link, '\0', sizeof(h.link)));
		CHECK(h.mode <= 07777);
	}
	if (size <= sizeof(block))
		return 0;
	memset(&h, 0, sizeof(h));
	if (bf_tar_pax_apply((const char *)data + sizeof(block), size - sizeof(block), &h) == 0) {
		CHECK(memchr(h.name, '\0', sizeof(h.name)));
		CHECK(memchr(h.link, '\0', sizeof(h.link)));
	}
	text = strndup((const char *)data + sizeof(block), size - sizeof(block));
	if (!text)
		return 0;
	if (bf_tar_clean_name(text, name, sizeof(name)) == 0) {
		CHECK(name[0] && name[0] != '/');
		for (const char *c = name; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL) {
			size_t k = strcspn(c, "/");

			CHECK(k > 0 && !(k == 1 && c[0] == '.') && !(k == 2 && c[0] == '.' && c[1] == '.'));
		}
	}
	free(text);
	return 0;
}
