/* libFuzzer target for backend/microvm/vm_frame.c (the microVM agent's
 * wire): any bytes. A parsed frame lies inside the input and is within
 * bounds; parsing is the same twice; an EXEC payload that parses has a
 * NUL-terminated argv and env inside the payload. Violations abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "microvm/vm_frame.h"

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			abort();        \
	} while (0)

static bool inside(const char *p, const char *base, size_t len)
{
	return p >= base && p < base + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t at = 0;

	while (at < size) {
		struct bf_vm_frame f, g;
		ssize_t n = bf_vm_frame_parse(buf + at, size - at, &f);

		CHECK(n == bf_vm_frame_parse(buf + at, size - at, &g));
		if (n <= 0)
			break;
		CHECK((size_t)n == BF_VM_FRAME_HEAD + f.len && (size_t)n <= size - at);
		CHECK(f.len <= BF_VM_FRAME_MAX && f.type >= BF_VM_HELLO && f.type < BF_VM_TYPE_END);
		if (f.type == BF_VM_EXEC) {
			struct bf_vm_exec x;
			const char *why = NULL;

			if (bf_vm_exec_parse(f.data, f.len, &x, &why) == 0) {
				CHECK(x.argc >= 1 && x.argc <= BF_VM_EXEC_ARGS_MAX && !x.argv[x.argc]);
				CHECK(x.envc <= BF_VM_EXEC_ENV_MAX && !x.env[x.envc]);
				for (size_t i = 0; i < x.argc; i++)
					CHECK(inside(x.argv[i], f.data, f.len) &&
					      memchr(x.argv[i], '\0', (size_t)(f.data + f.len - x.argv[i])));
				for (size_t i = 0; i < x.envc; i++)
					CHECK(inside(x.env[i], f.data, f.len) && strchr(x.env[i], '='));
			} else {
				CHECK(why && why[0]);
			}
		}
		at += (size_t)n;
	}
	return 0;
}
