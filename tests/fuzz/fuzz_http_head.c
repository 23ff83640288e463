/* libFuzzer target for backend/http_head.c: any bytes as a client's first
 * packet. The head's end must lie inside the input, a parsed request must
 * hold a valid destination, and the origin-form rewrite must stay inside
 * its buffer and end with the blank line. Violations abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_head.h"

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			abort();        \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct bf_http_request req;
	const char *why = NULL;
	size_t end = bf_http_head_end(buf, size);
	char out[20000];
	size_t n;

	CHECK(end <= size);
	if (!end)
		return 0;
	CHECK(buf[end - 1] == '\n');
	{
		/* The server side (supervise) reads the same heads. */
		struct bf_http_server_request sreq;
		const char *swhy = NULL;

		if (bf_http_parse_server_request(buf, end, &sreq, &swhy) == 0) {
			CHECK(sreq.path[0] == '/' && strlen(sreq.path) < sizeof(sreq.path));
			CHECK(sreq.content_length >= -1);
			CHECK(strlen(sreq.session) < sizeof(sreq.session));
		} else {
			CHECK(swhy && *swhy);
		}
	}
	if (bf_http_parse_request(buf, end, &req, &why) != 0) {
		CHECK(why && *why);
		return 0;
	}
	CHECK(req.port >= 1 && req.port <= 65535);
	CHECK(req.host[0] && strlen(req.host) < sizeof(req.host));
	CHECK(strspn(req.host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") ==
	      strlen(req.host));
	if (req.tunnel)
		return 0;
	CHECK(req.path[0] == '/');
	n = bf_http_origin_head(buf, end, &req, out, sizeof(out));
	CHECK(n <= sizeof(out));
	if (end < 16000) {
		CHECK(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
		CHECK(memmem(out, n, "\r\n\r\n", 4) == out + n - 4);
	}
	return 0;
}
