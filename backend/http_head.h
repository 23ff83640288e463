/* The egress proxy's view of a request head, parsed once, here: where the
 * head ends (CRLF or bare LF line ends), the request line, the authority
 * of a CONNECT target or an absolute http:// URL, and the head rewritten
 * for the origin server. Pure functions: no I/O, fuzzed on their own
 * (tests/fuzz/fuzz_http_head.c). */
#ifndef BOTTLEFS_HTTP_HEAD_H
#define BOTTLEFS_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>

struct bf_http_request {
	char method[16];
	char host[256];         /* a name or an IP literal, without brackets */
	int port;
	bool tunnel;            /* CONNECT host:port */
	char path[2048];        /* origin-form path of an absolute URL */
	int default_port;       /* 443 for CONNECT, 80 for http:// */
};

/* The length of the head in buf[0..len), its blank line included, or 0
 * if it has not ended yet. Lines may end in CRLF or LF. */
size_t bf_http_head_end(const char *buf, size_t len);

/* Parses the request line of a complete head. 0, or an HTTP status (400)
 * with `reason` set to what the client is told. */
int bf_http_parse_request(const char *head, size_t head_len, struct bf_http_request *req,
			  const char **reason);

/* "host:port", "[v6]:port", or "host" with `dflt` as the port; host names
 * and IP literals only. */
bool bf_http_parse_authority(const char *a, size_t len, char *host, size_t hlen, int *port,
			     int dflt);

/* A request to one of bottlefs's own servers (supervise): origin form,
 * the body's framing and what the connection does after. */
struct bf_http_server_request {
	char method[16];
	char path[256];         /* without the query */
	long long content_length;       /* -1: none given */
	bool chunked;           /* Transfer-Encoding: chunked (not served) */
	bool close;             /* Connection: close, or HTTP/1.0 */
	char session[128];      /* Mcp-Session-Id, "" if none */
};

/* Parses a complete head. 0, or an HTTP status (400) with `reason` set. */
int bf_http_parse_server_request(const char *head, size_t head_len,
				 struct bf_http_server_request *req, const char **reason);

/* The reverse: "host:port", or "[v6]:port" for an IPv6 literal, as an
 * allow rule writes it. 0, or -ENAMETOOLONG. */
int bf_http_format_authority(const char *host, int port, char *out, size_t len);

/* The head for the origin server: origin-form request line, no Proxy-*,
 * Connection or Keep-Alive headers, "Connection: close", CRLF line ends.
 * Returns the length written to out (at most cap). */
size_t bf_http_origin_head(const char *head, size_t head_len, const struct bf_http_request *req,
			   char *out, size_t cap);

#endif
