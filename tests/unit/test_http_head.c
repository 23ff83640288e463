/* The proxy's request head: where it ends, the request line, authorities,
 * the origin-form rewrite. */
#include <string.h>

#include "../../backend/http_chunked.h"
#include "../../backend/http_head.h"
#include "cunit_main.h"

static void test_head_end(void)
{
	const char crlf[] = "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\nBODY";
	const char lf[] = "GET http://a/ HTTP/1.1\nHost: a\n\nBODY";
	const char mixed[] = "GET http://a/ HTTP/1.1\nHost: a\r\n\r\nB";

	CU_ASSERT_EQUAL(bf_http_head_end(crlf, strlen(crlf)), strlen(crlf) - 4);
	CU_ASSERT_EQUAL(bf_http_head_end(lf, strlen(lf)), strlen(lf) - 4);
	CU_ASSERT_EQUAL(bf_http_head_end(mixed, strlen(mixed)), strlen(mixed) - 1);
	CU_ASSERT_EQUAL(bf_http_head_end(crlf, 20), 0);
	CU_ASSERT_EQUAL(bf_http_head_end("GET / HTTP/1.1\r\n\r", 17), 0);
	CU_ASSERT_EQUAL(bf_http_head_end("", 0), 0);
}

static void test_request(void)
{
	struct bf_http_request r;
	const char *why = NULL;
	const char c[] = "CONNECT api.example.com:8443 HTTP/1.1\r\n\r\n";
	const char g[] = "GET http://[::1]:8080/x?y HTTP/1.0\n\n";
	const char d[] = "GET http://example.com HTTP/1.1\r\n\r\n";

	CU_ASSERT_EQUAL(bf_http_parse_request(c, strlen(c), &r, &why), 0);
	CU_ASSERT(r.tunnel);
	CU_ASSERT_STRING_EQUAL(r.host, "api.example.com");
	CU_ASSERT_EQUAL(r.port, 8443);
	CU_ASSERT_EQUAL(r.default_port, 443);
	CU_ASSERT_EQUAL(bf_http_parse_request(g, strlen(g), &r, &why), 0);
	CU_ASSERT(!r.tunnel);
	CU_ASSERT_STRING_EQUAL(r.host, "::1");
	CU_ASSERT_EQUAL(r.port, 8080);
	CU_ASSERT_STRING_EQUAL(r.path, "/x?y");
	CU_ASSERT_EQUAL(bf_http_parse_request(d, strlen(d), &r, &why), 0);
	CU_ASSERT_EQUAL(r.port, 80);
	CU_ASSERT_STRING_EQUAL(r.path, "/");
	CU_ASSERT_EQUAL(bf_http_parse_request("GET / HTTP/1.1\r\n\r\n", 18, &r, &why), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "absolute http://"));
	CU_ASSERT_EQUAL(bf_http_parse_request("CONNECT a:99999 HTTP/1.1\r\n\r\n", 28, &r, &why), 400);
	CU_ASSERT_EQUAL(bf_http_parse_request("CONNECT a:443 SPDY/3\r\n\r\n", 24, &r, &why), 400);
	CU_ASSERT_EQUAL(bf_http_parse_request("CONNECT a\0b:443 HTTP/1.1\r\n\r\n", 29, &r, &why), 400);
	CU_ASSERT_EQUAL(bf_http_parse_request("CONNECT a_b:443 HTTP/1.1\r\n\r\n", 28, &r, &why), 400);
	CU_ASSERT_EQUAL(bf_http_parse_request("GARBAGE\n\n", 9, &r, &why), 400);
}

static void test_authority(void)
{
	char host[256];
	int port;

	CU_ASSERT(bf_http_parse_authority("h.example:1", 11, host, sizeof(host), &port, 80));
	CU_ASSERT_EQUAL(port, 1);
	CU_ASSERT(bf_http_parse_authority("[2001:db8::1]", 13, host, sizeof(host), &port, 443));
	CU_ASSERT_STRING_EQUAL(host, "2001:db8::1");
	CU_ASSERT_EQUAL(port, 443);
	CU_ASSERT(!bf_http_parse_authority("h:", 2, host, sizeof(host), &port, 80));
	CU_ASSERT(!bf_http_parse_authority("h:0", 3, host, sizeof(host), &port, 80));
	CU_ASSERT(!bf_http_parse_authority("h:+80", 5, host, sizeof(host), &port, 80));
	CU_ASSERT(!bf_http_parse_authority("h:000080", 8, host, sizeof(host), &port, 80));
	CU_ASSERT(!bf_http_parse_authority("[::1", 4, host, sizeof(host), &port, 80));
	CU_ASSERT(!bf_http_parse_authority("[::1]x", 6, host, sizeof(host), &port, 80));
	CU_ASSERT(!bf_http_parse_authority("", 0, host, sizeof(host), &port, 80));
	CU_ASSERT(!bf_http_parse_authority("a b", 3, host, sizeof(host), &port, 80));
}

static void test_origin_head(void)
{
	const char head[] = "GET http://a.example/p HTTP/1.1\nHost: a.example\nProxy-Authorization: x\n"
			    "Connection: keep-alive\nKeep-Alive: 5\nAccept: */*\n\n";
	char out[512];
	struct bf_http_request r;
	const char *why;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(bf_http_parse_request(head, strlen(head), &r, &why), 0);
	n = bf_http_origin_head(head, strlen(head), &r, false, out, sizeof(out));
	out[n] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "GET /p HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n"
				    "Connection: close\r\n\r\n");
	/* A connection to keep: HTTP/1.1's default, nothing added. */
	n = bf_http_origin_head(head, strlen(head), &r, true, out, sizeof(out));
	out[n] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "GET /p HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n\r\n");
	/* too small a buffer never overflows */
	n = bf_http_origin_head(head, strlen(head), &r, false, out, 10);
	CU_ASSERT(n < 10);
	n = bf_http_origin_head(head, strlen(head), &r, true, out, 40);
	CU_ASSERT(n < 40);
}

static int framing(const char *head, struct bf_http_framing *f)
{
	const char *why = NULL;
	int code = bf_http_parse_framing(head, strlen(head), false, f, &why);

	CU_ASSERT(code == 0 || (why && *why));
	return code;
}

static void test_framing(void)
{
	struct bf_http_framing f;
	const char *why;

	CU_ASSERT_EQUAL(framing("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &f), 0);
	CU_ASSERT_EQUAL(f.content_length, -1);
	CU_ASSERT(!f.transfer_encoding && !f.chunked && !f.close && !f.expect && !f.upgrade);
	CU_ASSERT_EQUAL(framing("HTTP/1.1 200 OK\r\ncontent-length:  42 \r\n\r\n", &f), 0);
	CU_ASSERT_EQUAL(f.content_length, 42);
	/* the first line is not a header, whatever it says */
	CU_ASSERT_EQUAL(framing("Content-Length: 5\r\n\r\n", &f), 0);
	CU_ASSERT_EQUAL(f.content_length, -1);
	/* chunked only as the last coding, as a word */
	CU_ASSERT_EQUAL(framing("P / HTTP/1.1\nTransfer-Encoding: gzip, chunked\n\n", &f), 0);
	CU_ASSERT(f.transfer_encoding && f.chunked);
	CU_ASSERT_EQUAL(framing("P / HTTP/1.1\nTransfer-Encoding: CHUNKED\n\n", &f), 0);
	CU_ASSERT(f.chunked);
	CU_ASSERT_EQUAL(framing("P / HTTP/1.1\nTransfer-Encoding: chunked, gzip\n\n", &f), 0);
	CU_ASSERT(f.transfer_encoding && !f.chunked);
	CU_ASSERT_EQUAL(framing("P / HTTP/1.1\nTransfer-Encoding: xchunked\n\n", &f), 0);
	CU_ASSERT(f.transfer_encoding && !f.chunked);
	CU_ASSERT_EQUAL(framing("P / HTTP/1.1\nConnection: Keep-Alive, Close\nExpect: 100-continue\n"
				"Upgrade: websocket\n\n", &f), 0);
	CU_ASSERT(f.close && f.expect && f.upgrade);
	/* HTTP/1.0 closes unless it says keep-alive */
	CU_ASSERT_EQUAL(bf_http_parse_framing("HTTP/1.0 200 OK\n\n", 17, true, &f, &why), 0);
	CU_ASSERT(f.close);
	CU_ASSERT_EQUAL(bf_http_parse_framing("HTTP/1.0 200 OK\nConnection: keep-alive\n\n", 41, true,
					      &f, &why), 0);
	CU_ASSERT(!f.close);
	/* what may be sent twice */
	CU_ASSERT_TRUE(bf_http_method_idempotent("GET"));
	CU_ASSERT_TRUE(bf_http_method_idempotent("PUT"));
	CU_ASSERT_TRUE(bf_http_method_idempotent("DELETE"));
	CU_ASSERT_FALSE(bf_http_method_idempotent("POST"));
	CU_ASSERT_FALSE(bf_http_method_idempotent("PATCH"));
	CU_ASSERT_FALSE(bf_http_method_idempotent("get"));
	/* smuggling's tricks are refused */
	CU_ASSERT_EQUAL(framing("P / HTTP/1.1\nContent-Length: 2\nContent-Length: 3\n\n", &f), 400);
	CU_ASSERT_EQUAL(framing("P / HTTP/1.1\nContent-Length: +3\n\n", &f), 400);
	CU_ASSERT_EQUAL(framing("P / HTTP/1.1\nContent-Length: 3, 3\n\n", &f), 400);
}

static void test_status_and_body(void)
{
	struct bf_http_framing f = { .content_length = -1 }, len = { .content_length = 7 },
			       chunked = { .content_length = -1, .transfer_encoding = true,
					   .chunked = true },
			       gzip = { .content_length = 9, .transfer_encoding = true };
	int status = 0;
	bool http10 = true;

	CU_ASSERT_EQUAL(bf_http_parse_status("HTTP/1.1 204 No Content\r\n\r\n", 27, &status, &http10), 0);
	CU_ASSERT_EQUAL(status, 204);
	CU_ASSERT_FALSE(http10);
	CU_ASSERT_EQUAL(bf_http_parse_status("HTTP/1.0 200\r\n\r\n", 16, &status, &http10), 0);
	CU_ASSERT_EQUAL(status, 200);
	CU_ASSERT_TRUE(http10);
	CU_ASSERT_EQUAL(bf_http_parse_status("HTTP/1.1 2000 x\r\n\r\n", 19, &status, &http10), -1);
	CU_ASSERT_EQUAL(bf_http_parse_status("HTTP/2 200 x\r\n\r\n", 16, &status, &http10), -1);
	CU_ASSERT_EQUAL(bf_http_parse_status("HTTP/1.1 099 x\r\n\r\n", 18, &status, &http10), -1);
	CU_ASSERT_EQUAL(bf_http_parse_status("HTTP/1.1 20", 11, &status, &http10), -1);

	CU_ASSERT_EQUAL(bf_http_response_body("HEAD", 200, &len), BF_HTTP_BODY_NONE);
	CU_ASSERT_EQUAL(bf_http_response_body("GET", 204, &len), BF_HTTP_BODY_NONE);
	CU_ASSERT_EQUAL(bf_http_response_body("GET", 304, &len), BF_HTTP_BODY_NONE);
	CU_ASSERT_EQUAL(bf_http_response_body("GET", 103, &len), BF_HTTP_BODY_NONE);
	CU_ASSERT_EQUAL(bf_http_response_body("GET", 200, &len), BF_HTTP_BODY_LENGTH);
	CU_ASSERT_EQUAL(bf_http_response_body("GET", 200, &chunked), BF_HTTP_BODY_CHUNKED);
	/* a coding other than chunked wins over a length: read to the close */
	CU_ASSERT_EQUAL(bf_http_response_body("GET", 200, &gzip), BF_HTTP_BODY_UNTIL_CLOSE);
	CU_ASSERT_EQUAL(bf_http_response_body("GET", 200, &f), BF_HTTP_BODY_UNTIL_CLOSE);
}

static void test_client_head(void)
{
	const char head[] = "HTTP/1.1 200 OK\nContent-Length: 3\nConnection: keep-alive\n"
			    "Keep-Alive: timeout=5\nProxy-Thing: y\nX: 1\n\n";
	char out[256];
	size_t n = bf_http_client_head(head, strlen(head), out, sizeof(out));

	out[n] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX: 1\r\n"
				    "Connection: close\r\n\r\n");
	/* too small: nothing, never a head cut short */
	CU_ASSERT_EQUAL(bf_http_client_head(head, strlen(head), out, 40), 0);
	CU_ASSERT_EQUAL(bf_http_client_head(head, strlen(head), out, 8), 0);
}

/* Feeds `body` to a decoder in pieces of `step` bytes; returns the
 * bytes taken in all, or -1 on a syntax error. */
static ssize_t chunked_in_steps(const char *body, size_t len, size_t step, bool *done)
{
	struct bf_http_chunked c = BF_HTTP_CHUNKED_INIT;
	size_t at = 0;

	*done = false;
	while (at < len && !*done) {
		size_t piece = len - at < step ? len - at : step;
		ssize_t used = bf_http_chunked_feed(&c, body + at, piece, done);

		if (used < 0)
			return -1;
		CU_ASSERT((size_t)used == piece || *done);
		at += (size_t)used;
	}
	return (ssize_t)at;
}

static void test_chunked(void)
{
	static const char whole[] = "4\r\nWiki\r\n6;name=v\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n"
				    "0\r\nTrailer: t\r\n\r\n";
	static const char bad[][40] = {
		"4\nWiki\r\n0\r\n\r\n",           /* bare LF */
		"4\r\nWikiX\r\n0\r\n\r\n",       /* data longer than its size */
		"g\r\n",                              /* not hex */
		";x\r\n",                             /* no size */
		"10000000000000000\r\n",              /* 17 digits */
		"0\r\nT: 1\n\r\n",                   /* bare LF in a trailer */
		"0\r\n\n",                            /* bare LF at the end */
	};
	bool done;
	size_t step;

	for (step = 1; step <= sizeof(whole); step++) {
		CU_ASSERT_EQUAL(chunked_in_steps(whole, sizeof(whole) - 1, step, &done),
				(ssize_t)sizeof(whole) - 1);
		CU_ASSERT_TRUE(done);
	}
	/* what follows the end is not the body's */
	{
		struct bf_http_chunked c = BF_HTTP_CHUNKED_INIT;
		const char more[] = "0\r\n\r\nHTTP/1.1 200 OK\r\n";

		CU_ASSERT_EQUAL(bf_http_chunked_feed(&c, more, strlen(more), &done), 5);
		CU_ASSERT_TRUE(done);
	}
	/* not yet ended */
	CU_ASSERT_EQUAL(chunked_in_steps(whole, 20, 7, &done), 20);
	CU_ASSERT_FALSE(done);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(chunked_in_steps(bad[i], strlen(bad[i]), 3, &done), -1);
}

static int server(const char *head, struct bf_http_server_request *r)
{
	const char *why = NULL;
	int code = bf_http_parse_server_request(head, strlen(head), r, &why);

	CU_ASSERT(code == 0 || (why && *why));
	return code;
}

static void test_server_request(void)
{
	struct bf_http_server_request r;

	CU_ASSERT_EQUAL(server("POST /mcp?x=1 HTTP/1.1\r\nContent-Length: 12\r\n"
			       "mcp-session-id:  abc \r\n\r\n", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.method, "POST");
	CU_ASSERT_STRING_EQUAL(r.path, "/mcp");
	CU_ASSERT_EQUAL(r.content_length, 12);
	CU_ASSERT_STRING_EQUAL(r.session, "abc");
	CU_ASSERT_FALSE(r.close);
	CU_ASSERT_FALSE(r.chunked);
	CU_ASSERT_EQUAL(server("GET / HTTP/1.0\n\n", &r), 0);
	CU_ASSERT_TRUE(r.close);
	CU_ASSERT_EQUAL(r.content_length, -1);
	CU_ASSERT_EQUAL(server("GET / HTTP/1.0\nConnection: keep-alive\n\n", &r), 0);
	CU_ASSERT_FALSE(r.close);
	CU_ASSERT_EQUAL(server("POST / HTTP/1.1\nConnection: close\nTransfer-Encoding: chunked\n\n", &r), 0);
	CU_ASSERT_TRUE(r.close);
	CU_ASSERT_TRUE(r.chunked);
	/* Refused: absolute targets, lengths that are not digits or that
	 * disagree, an oversized session id, not HTTP. */
	CU_ASSERT_EQUAL(server("POST http://x/ HTTP/1.1\n\n", &r), 400);
	CU_ASSERT_EQUAL(server("POST / HTTP/1.1\nContent-Length: -1\n\n", &r), 400);
	CU_ASSERT_EQUAL(server("POST / HTTP/1.1\nContent-Length: 1e3\n\n", &r), 400);
	CU_ASSERT_EQUAL(server("POST / HTTP/1.1\nContent-Length:\n\n", &r), 400);
	CU_ASSERT_EQUAL(server("POST / HTTP/1.1\nContent-Length: 99999999999999999\n\n", &r), 400);
	CU_ASSERT_EQUAL(server("POST / HTTP/1.1\nContent-Length: 2\nContent-Length: 3\n\n", &r), 400);
	CU_ASSERT_EQUAL(server("POST / HTTP/1.1\nContent-Length: 2\nContent-Length: 2\n\n", &r), 0);
	{
		char head[400] = "POST / HTTP/1.1\nMcp-Session-Id: ";

		memset(head + strlen(head), 'a', 200);
		strcat(head, "\n\n");
		CU_ASSERT_EQUAL(server(head, &r), 400);
	}
	CU_ASSERT_EQUAL(server("\x16\x03\x01 hello\n\n", &r), 400);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "head end, CRLF and LF", test_head_end },
		{ "request line", test_request },
		{ "authority", test_authority },
		{ "origin head", test_origin_head },
		{ "server request", test_server_request },
		{ "framing headers", test_framing },
		{ "status line and body kind", test_status_and_body },
		{ "client head", test_client_head },
		{ "chunked body", test_chunked },
		{ NULL, NULL },
	};

	return run_unit_tests("http_head", tests);
}
