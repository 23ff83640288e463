/* The proxy's request head: where it ends, the request line, authorities,
 * the origin-form rewrite. */
#include <string.h>

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
	n = bf_http_origin_head(head, strlen(head), &r, out, sizeof(out));
	out[n] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "GET /p HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n"
				    "Connection: close\r\n\r\n");
	/* too small a buffer never overflows */
	n = bf_http_origin_head(head, strlen(head), &r, out, 10);
	CU_ASSERT(n < 10);
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
		{ NULL, NULL },
	};

	return run_unit_tests("http_head", tests);
}
