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

size_t bf_http_origin_head(const char *head, size_t head_len, const struct bf_http_request *req,
			   char *out, size_t cap)
{
	const char *line = memchr(head, '\n', head_len), *end = head + head_len;
	int n = snprintf(out, cap, "%s %s HTTP/1.1\r\n", req->method, req->path);
	size_t o = n > 0 ? (size_t)n : 0;

	if (o >= cap || !line)
		return o < cap ? o : 0;
	for (line++; line < end;) {
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
		    !header_is(line, l, "Keep-Alive:") && o + l + 2 < cap) {
			memcpy(out + o, line, l);
			memcpy(out + o + l, "\r\n", 2);
			o += l + 2;
		}
		line = eol + 1;
	}
	n = snprintf(out + o, cap - o, "Connection: close\r\n\r\n");
	if (n > 0 && o + (size_t)n < cap)
		o += (size_t)n;
	return o;
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

int bf_http_parse_server_request(const char *head, size_t head_len,
				 struct bf_http_server_request *req, const char **reason)
{
	const char *p = head, *line = memchr(head, '\n', head_len), *end = head + head_len;
	char target[2048], version[16], value[256];
	bool keep_alive = false;

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
	for (line++; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t l = eol ? (size_t)(eol - line) : (size_t)(end - line);

		if (header_is(line, l, "Content-Length:")) {
			long long n = -1;

			/* Digits only, and two that disagree are refused (request
			 * smuggling's oldest trick). */
			if (header_value(line, l, 15, value, sizeof(value)) && value[0] &&
			    strspn(value, "0123456789") == strlen(value) && strlen(value) <= 15)
				n = strtoll(value, NULL, 10);
			if (n < 0 || (req->content_length >= 0 && req->content_length != n)) {
				*reason = "bad Content-Length";
				return 400;
			}
			req->content_length = n;
		} else if (header_is(line, l, "Transfer-Encoding:")) {
			req->chunked = true;
		} else if (header_is(line, l, "Connection:")) {
			if (header_value(line, l, 11, value, sizeof(value))) {
				if (strcasestr(value, "close"))
					req->close = true;
				if (strcasestr(value, "keep-alive"))
					keep_alive = true;
			}
		} else if (header_is(line, l, "Mcp-Session-Id:")) {
			if (!header_value(line, l, 15, req->session, sizeof(req->session))) {
				*reason = "Mcp-Session-Id is too long";
				return 400;
			}
		}
		line += l + 1;
	}
	if (strcmp(version, "HTTP/1.0") == 0 && !keep_alive)
		req->close = true;
	return 0;
}
