/* libFuzzer target for backend/http_head.c and http_chunked.c: any bytes
 * as a client's first packet, and as an origin's answer. The head's end
 * must lie inside the input, a parsed request must hold a valid
 * destination, the rewrites for either hop must stay inside their buffer
 * and end with the one blank line, and the chunked decoder must take the
 * same bytes whether they come at once or in two pieces. Violations
 * abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_chunked.h"
#include "http_head.h"

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			abort();        \
	} while (0)

/* The answer's side: status line, framing, the client's head, and the
 * body after the head through the chunked decoder. */
static void as_response(const char *buf, size_t size, size_t end)
{
	struct bf_http_framing f;
	struct bf_http_chunked whole = BF_HTTP_CHUNKED_INIT, split = BF_HTTP_CHUNKED_INIT;
	const char *why = NULL;
	char out[20000];
	int status;
	bool http10, done_whole = false, done_split = false;
	size_t n, body = size - end, half = body / 2;
	ssize_t a, b1, b2 = 0;

	if (bf_http_parse_status(buf, end, &status, &http10) == 0)
		CHECK(status >= 100 && status <= 599);
	if (bf_http_parse_framing(buf, end, size & 1, &f, &why) == 0) {
		CHECK(f.content_length >= -1);
		CHECK(!f.chunked || f.transfer_encoding);
	} else {
		CHECK(why && *why);
	}
	n = bf_http_client_head(buf, end, out, sizeof(out));
	CHECK(n <= sizeof(out));
	if (n) {
		CHECK(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
		CHECK(memmem(out, n, "\r\n\r\n", 4) == out + n - 4);
	}
	a = bf_http_chunked_feed(&whole, buf + end, body, &done_whole);
	b1 = bf_http_chunked_feed(&split, buf + end, half, &done_split);
	CHECK(a <= (ssize_t)body && b1 <= (ssize_t)half);
	if (b1 >= 0 && !done_split)
		b2 = bf_http_chunked_feed(&split, buf + end + half, body - half, &done_split);
	if (a < 0) {
		CHECK(b1 < 0 || b2 < 0);
	} else {
		CHECK(b1 >= 0 && b2 >= 0 && a == b1 + b2 && done_whole == done_split);
		CHECK(done_whole || a == (ssize_t)body);
	}
}

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
	as_response(buf, size, end);
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
	n = bf_http_origin_head(buf, end, &req, size & 2, out, sizeof(out));
	CHECK(n <= sizeof(out));
	if (end < 16000) {
		CHECK(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
		CHECK(memmem(out, n, "\r\n\r\n", 4) == out + n - 4);
	}
	return 0;
}
