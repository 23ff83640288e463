/* Where a chunked body ends (RFC 9112 section 7.1), followed as its bytes
 * pass: the egress proxy relays a response as it comes and must know
 * when it is whole to keep the origin's connection for another request.
 * Strict: only CRLF line ends, so that what the proxy takes for the end
 * is what any client takes for it. Pure: no I/O, fuzzed with the heads
 * (tests/fuzz/fuzz_http_head.c). */
#ifndef BOTTLEFS_HTTP_CHUNKED_H
#define BOTTLEFS_HTTP_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct bf_http_chunked {
	int state;
	unsigned long long left;        /* of the current chunk's data */
	unsigned digits;
};

/* Zeroed, it waits for the first chunk's size. */
#define BF_HTTP_CHUNKED_INIT { 0, 0, 0 }

/* Follows `len` more bytes of the body. Returns how many of them belong
 * to it (fewer than len only if it ended among them), or -1 if they
 * break the syntax. `*done` says the body has ended (the blank line
 * after the trailers). */
ssize_t bf_http_chunked_feed(struct bf_http_chunked *c, const char *p, size_t len, bool *done);

#endif
