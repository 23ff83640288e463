#include "http_head.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <bsd/string.h>

size_t bf_http_head_end(const char *buf, size_t len)
{
	size_t i;

	/* A line is empty when a LF follows the previous LF directly, or
	 * after one CR. */
	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool valid_host(const char *h)
{
	size_t n = strlen(h);

	return n > 0 && n < 254 &&
	       h[strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:")] == '\0';
}

static bool parse_port(const char *s, int *port)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9' || strlen(s) > 5)
		return false;
	v = strtol(s, &end, 10);
	if (*end || v < 1 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

bool bf_http_parse_authority(const char *a, size_t len, char *host, size_t hlen, int *port,
			     int dflt)
{
	char buf[300];

	if (len == 0 || len >= sizeof(buf) || memchr(a, '\0', len))
		return false;
	memcpy(buf, a, len);
	buf[len] = '\0';
	*port = dflt;
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close)
			return false;
		*close = '\0';
		if (close[1] == ':' && !parse_port(close + 2, port))
			return false;
		if (close[1] && close[1] != ':')
			return false;
		if (strlcpy(host, buf + 1, hlen) >= hlen)
			return false;
	} else {
		char *colon = strrchr(buf, ':');

		if (colon) {
			*colon = '\0';
			if (!parse_port(colon + 1, port))
				return false;
		}
		if (strlcpy(host, buf, hlen) >= hlen)
			return false;
	}
	return valid_host(host);
}

int bf_http_format_authority(const char *host, int port, char *out, size_t len)
{
	int n = strchr(host, ':') ? snprintf(out, len, "[%s]:%d", host, port)
				  : snprintf(out, len, "%s:%d", host, port);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Copies the next space-separated word of line[0..len) into out. */
static bool next_word(const char **p, const char *end, char *out, size_t cap)
{
	const char *start;
	size_t n;

	while (*p < end && **p == ' ')
		(*p)++;
	start = *p;
	while (*p < end && **p != ' ' && **p != '\r' && **p != '\n')
		(*p)++;
	n = (size_t)(*p - start);
	if (n == 0 || n >= cap || memchr(start, '\0', n))
		return false;
	memcpy(out, start, n);
	out[n] = '\0';
	return true;
}

int bf_http_parse_request(const char *head, size_t head_len, struct bf_http_request *req,
			  const char **reason)
{
	const char *p = head, *end = memchr(head, '\n', head_len), *auth;
	char target[2048], version[16];
	size_t alen;

	memset(req, 0, sizeof(*req));
	if (!end || !next_word(&p, end, req->method, sizeof(req->method)) ||
	    !next_word(&p, end, target, sizeof(target)) ||
	    !next_word(&p, end, version, sizeof(version)) || strncmp(version, "HTTP/1.", 7) != 0) {
		*reason = "not an HTTP/1.x request";
		return 400;
	}
	req->http10 = strcmp(version, "HTTP/1.0") == 0;
	/* CONNECT host:port tunnels; GET http://host[:port]/path is passed on
	 * in origin form. Both are decided the same way. */
	req->tunnel = strcmp(req->method, "CONNECT") == 0;
	if (req->tunnel) {
		auth = target;
		alen = strlen(target);
		req->default_port = 443;
	} else if (strncasecmp(target, "http://", 7) == 0) {
		const char *slash;

		auth = target + 7;
		slash = strchr(auth, '/');
		alen = slash ? (size_t)(slash - auth) : strlen(auth);
		strlcpy(req->path, slash ? slash : "/", sizeof(req->path));
		req->default_port = 80;
	} else {
		*reason = "use CONNECT host:port or an absolute http:// URL through this proxy";
		return 400;
	}
	if (!bf_http_parse_authority(auth, alen, req->host, sizeof(req->host), &req->port,
				     req->default_port)) {
		*reason = req->tunnel ? "CONNECT needs host:port" : "bad host in the request URL";
		return 400;
	}
	return 0;
}

/* A header line of `len` bytes starting with `name`, case aside. */
static bool header_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && strncasecmp(line, name, n) == 0;
}

/* Copies the header lines of head[line..end) to out from `o` on, less
 * the hop-by-hop ones (Connection, Keep-Alive, Proxy-*), with CRLF line
 * ends; stops at the blank line. Returns the new length, or cap if they
 * do not fit. */
static size_t copy_end_to_end_headers(const char *line, const char *end, char *out, size_t cap,
				      size_t o)
{
	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t l;

		if (!eol)
			break;
		l = (size_t)(eol - line);
		if (l && line[l - 1] == '\r')
			l--;
		if (l == 0)
			break;     /* the blank line */
		if (!header_is(line, l, "Proxy-") && !header_is(line, l, "Connection:") &&
		    !header_is(line, l, "Keep-Alive:")) {
			if (o + l + 2 >= cap)
				return cap;
			memcpy(out + o, line, l);
			memcpy(out + o + l, "\r\n", 2);
			o += l + 2;
		}
		line = eol + 1;
	}
	return o;
}

size_t bf_http_origin_head(const char *head, size_t head_len, const struct bf_http_request *req,
			   bool keep, char *out, size_t cap)
{
	const char *line = memchr(head, '\n', head_len), *end = head + head_len;
	const char *tail = keep ? "\r\n" : "Connection: close\r\n\r\n";
	int n = snprintf(out, cap, "%s %s HTTP/1.1\r\n", req->method, req->path);
	size_t o = n > 0 ? (size_t)n : 0;

	if (o >= cap || !line)
		return o < cap ? o : 0;
	o = copy_end_to_end_headers(line + 1, end, out, cap, o);
	if (o >= cap || o + strlen(tail) >= cap)
		return o >= cap ? cap - 1 : o;
	memcpy(out + o, tail, strlen(tail));
	return o + strlen(tail);
}

size_t bf_http_client_head(const char *head, size_t head_len, char *out, size_t cap)
{
	const char *line = memchr(head, '\n', head_len), *end = head + head_len;
	static const char tail[] = "Connection: close\r\n\r\n";
	size_t o;

	if (!line || (size_t)(line - head) + 1 >= cap)
		return 0;
	o = (size_t)(line - head);
	if (o && head[o - 1] == '\r')
		o--;
	memcpy(out, head, o);
	memcpy(out + o, "\r\n", 2);
	o = copy_end_to_end_headers(line + 1, end, out, cap, o + 2);
	if (o + sizeof(tail) - 1 >= cap)
		return 0;
	memcpy(out + o, tail, sizeof(tail) - 1);
	return o + sizeof(tail) - 1;
}

/* The value of a header line after "Name:", trimmed, into out. */
static bool header_value(const char *line, size_t len, size_t name_len, char *out, size_t cap)
{
	const char *v = line + name_len, *end = line + len;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((size_t)(end - v) >= cap)
		return false;
	memcpy(out, v, (size_t)(end - v));
	out[end - v] = '\0';
	return true;
}

/* The header line at *at (before `end`), without its LF, in *line and
 * *len; *at moves past it. False once no line is left. */
static bool next_header_line(const char **at, const char *end, const char **line, size_t *len)
{
	const char *eol;

	if (*at >= end)
		return false;
	eol = memchr(*at, '\n', (size_t)(end - *at));
	*line = *at;
	*len = eol ? (size_t)(eol - *at) : (size_t)(end - *at);
	*at += *len + 1;
	return true;
}

int bf_http_parse_framing(const char *head, size_t head_len, bool http10,
			  struct bf_http_framing *f, const char **reason)
{
	const char *at = memchr(head, '\n', head_len), *end = head + head_len, *line;
	char value[256];
	bool keep_alive = false;
	size_t l;

	memset(f, 0, sizeof(*f));
	f->content_length = -1;
	for (at = at ? at + 1 : end; next_header_line(&at, end, &line, &l);) {
		if (header_is(line, l, "Content-Length:")) {
			long long n = -1;

			if (header_value(line, l, 15, value, sizeof(value)) && value[0] &&
			    strspn(value, "0123456789") == strlen(value) && strlen(value) <= 15)
				n = strtoll(value, NULL, 10);
			if (n < 0 || (f->content_length >= 0 && f->content_length != n)) {
				*reason = "bad Content-Length";
				return 400;
			}
			f->content_length = n;
		} else if (header_is(line, l, "Transfer-Encoding:")) {
			size_t vl;

			/* The last coding decides; a value too long to read is
			 * some coding other than chunked. */
			f->transfer_encoding = true;
			f->chunked = header_value(line, l, 18, value, sizeof(value)) &&
				     (vl = strlen(value)) >= 7 &&
				     strcasecmp(value + vl - 7, "chunked") == 0 &&
				     (vl == 7 || value[vl - 8] == ',' || value[vl - 8] == ' ' ||
				      value[vl - 8] == '\t');
		} else if (header_is(line, l, "Connection:")) {
			/* A value too long to read may say close: it is taken to. */
			if (!header_value(line, l, 11, value, sizeof(value)) || strcasestr(value, "close"))
				f->close = true;
			else if (strcasestr(value, "keep-alive"))
				keep_alive = true;
		} else if (header_is(line, l, "Expect:")) {
			f->expect = true;
		} else if (header_is(line, l, "Upgrade:")) {
			f->upgrade = true;
		}
	}
	if (http10 && !keep_alive)
		f->close = true;
	return 0;
}

bool bf_http_method_idempotent(const char *method)
{
	static const char *const idempotent[] = { "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" };

	for (size_t i = 0; i < sizeof(idempotent) / sizeof(idempotent[0]); i++)
		if (strcmp(method, idempotent[i]) == 0)
			return true;
	return false;
}

int bf_http_parse_status(const char *head, size_t head_len, int *status, bool *http10)
{
	const char *d = head + 9;

	/* "HTTP/1.x NNN" and a space or the line's end. */
	if (head_len < 13 || strncmp(head, "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') ||
	    head[8] != ' ' || d[0] < '1' || d[0] > '5' || d[1] < '0' || d[1] > '9' || d[2] < '0' ||
	    d[2] > '9' || (d[3] != ' ' && d[3] != '\r' && d[3] != '\n'))
		return -1;
	*status = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
	*http10 = head[7] == '0';
	return 0;
}

enum bf_http_body bf_http_response_body(const char *method, int status,
					const struct bf_http_framing *f)
{
	if (strcmp(method, "HEAD") == 0 || status < 200 || status == 204 || status == 304)
		return BF_HTTP_BODY_NONE;
	if (f->transfer_encoding)
		return f->chunked ? BF_HTTP_BODY_CHUNKED : BF_HTTP_BODY_UNTIL_CLOSE;
	if (f->content_length >= 0)
		return BF_HTTP_BODY_LENGTH;
	return BF_HTTP_BODY_UNTIL_CLOSE;
}

int bf_http_parse_server_request(const char *head, size_t head_len,
				 struct bf_http_server_request *req, const char **reason)
{
	const char *p = head, *line = memchr(head, '\n', head_len), *end = head + head_len, *at;
	size_t l;
	char target[2048], version[16];
	struct bf_http_framing f;

	memset(req, 0, sizeof(*req));
	req->content_length = -1;
	if (!line || !next_word(&p, line, req->method, sizeof(req->method)) ||
	    !next_word(&p, line, target, sizeof(target)) ||
	    !next_word(&p, line, version, sizeof(version)) || strncmp(version, "HTTP/1.", 7) != 0) {
		*reason = "not an HTTP/1.x request";
		return 400;
	}
	if (target[0] != '/') {
		*reason = "the request target must be a path";
		return 400;
	}
	target[strcspn(target, "?#")] = '\0';
	if (strlen(target) >= sizeof(req->path)) {
		*reason = "the path is too long";
		return 400;
	}
	strlcpy(req->path, target, sizeof(req->path));
	if (bf_http_parse_framing(head, head_len, strcmp(version, "HTTP/1.0") == 0, &f, reason))
		return 400;
	req->content_length = f.content_length;
	req->chunked = f.transfer_encoding;
	req->close = f.close;
	for (at = line + 1; next_header_line(&at, end, &line, &l);)
		if (header_is(line, l, "Mcp-Session-Id:") &&
		    !header_value(line, l, 15, req->session, sizeof(req->session))) {
			*reason = "Mcp-Session-Id is too long";
			return 400;
		}
	return 0;
}
