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
	bool http10;            /* HTTP/1.0, not 1.1 */
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

/* What a head says of its body's end and of the connection after it
 * (RFC 9112 sections 6 and 9). */
struct bf_http_framing {
	long long content_length;       /* -1: none given */
	bool transfer_encoding;         /* any Transfer-Encoding ... */
	bool chunked;                   /* ... whose last coding is chunked */
	bool close;                     /* Connection: close, or HTTP/1.0 without keep-alive */
	bool expect;                    /* an Expect header */
	bool upgrade;                   /* an Upgrade header */
};

/* Reads the framing headers of a complete head; its first line is not
 * looked at, `http10` says the message's version. 0, or 400 with
 * `reason` set: a Content-Length that is not digits, or two that
 * disagree (request smuggling's oldest trick). */
int bf_http_parse_framing(const char *head, size_t head_len, bool http10,
			  struct bf_http_framing *f, const char **reason);

/* GET, HEAD, OPTIONS, TRACE, PUT, DELETE: a request that may be sent
 * again with the same effect (RFC 9110 section 9.2.2). */
bool bf_http_method_idempotent(const char *method);

/* A response's status line, "HTTP/1.x NNN reason". 0, or -1. */
int bf_http_parse_status(const char *head, size_t head_len, int *status, bool *http10);

enum bf_http_body {
	BF_HTTP_BODY_NONE,              /* HEAD, 1xx, 204, 304 */
	BF_HTTP_BODY_CHUNKED,
	BF_HTTP_BODY_LENGTH,            /* content_length bytes */
	BF_HTTP_BODY_UNTIL_CLOSE,       /* another coding, or no length */
};

/* How the body of a response to `method` ends (RFC 9112 section 6.3). */
enum bf_http_body bf_http_response_body(const char *method, int status,
					const struct bf_http_framing *f);

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
 * Connection or Keep-Alive headers, CRLF line ends, and "Connection:
 * close" unless `keep` (HTTP/1.1 keeps a connection unless told).
 * Returns the length written to out (at most cap). */
size_t bf_http_origin_head(const char *head, size_t head_len, const struct bf_http_request *req,
			   bool keep, char *out, size_t cap);

/* A response head for the client whose connection ends after it: the
 * origin's own, less its Connection, Keep-Alive and Proxy-* headers (they
 * were the proxy's hop), with "Connection: close". Returns the length
 * written to out (at most cap), 0 if it does not fit. */
size_t bf_http_client_head(const char *head, size_t head_len, char *out, size_t cap);

#endif
