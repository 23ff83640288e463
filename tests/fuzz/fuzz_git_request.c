/* libFuzzer target for backend/git/git_request.c: any bytes as a git://
 * client's first packet. A parsed request holds an absolute, printable
 * path and a known service and version; the error packet always fits and
 * announces its own length. The flush scanner finds the same end fed
 * whole or in two pieces. Violations abort(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "git/git_request.h"

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			abort();        \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct bf_git_request req;
	struct bf_error err = { 0 };
	char out[128], msg[200], head[5];
	size_t n;
	struct bf_git_flush_scan whole = { 0 }, halves = { 0 };
	size_t whole_end, halves_end;
	int len;

	whole_end = bf_git_flush_scan(&whole, buf, size);
	halves_end = bf_git_flush_scan(&halves, buf, size / 2);
	halves_end += bf_git_flush_scan(&halves, buf + size / 2, size - size / 2);
	CHECK(whole_end <= size && whole_end == halves_end && whole.done == halves.done);
	CHECK(!whole.done || whole_end >= 4);
	if (size < 4)
		return 0;
	len = bf_git_pkt_len(buf);
	CHECK(len == -22 || (len >= 4 && len <= BF_GIT_PKT_MAX));
	if (len > 0 && (size_t)len <= size && bf_git_request_parse(buf, (size_t)len, &req, &err) == 0) {
		CHECK(req.path[0] == '/');
		CHECK(strlen(req.path) < sizeof(req.path));
		for (n = 0; req.path[n]; n++)
			CHECK((unsigned char)req.path[n] > ' ' && (unsigned char)req.path[n] < 0x7f);
		CHECK(req.service == BF_GIT_UPLOAD_PACK || req.service == BF_GIT_RECEIVE_PACK);
		CHECK(req.version >= 0 && req.version <= 2);
	} else {
		CHECK(len < 0 || (size_t)len > size || err.msg[0]);
	}
	n = size < sizeof(msg) - 1 ? size : sizeof(msg) - 1;
	memcpy(msg, buf, n);
	msg[n] = '\0';
	n = bf_git_pkt_error(out, sizeof(out), msg);
	CHECK(n >= 9 && n <= sizeof(out));
	memcpy(head, out, 4);
	head[4] = '\0';
	CHECK(bf_git_pkt_len(head) == (int)n);
	CHECK(out[n - 1] == '\n');
	return 0;
}
