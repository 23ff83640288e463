#include "git_request.h"
#include "../hex_digit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A pkt-line's 4 hex digits: 0..0xffff, or -1 if they are not hex. */
static int pkt_header(const char head[4])
{
	int n = 0;

	for (int i = 0; i < 4; i++) {
		int d = bf_hex_digit(head[i]);

		if (d < 0)
			return -1;
		n = n * 16 + d;
	}
	return n;
}

int bf_git_pkt_len(const char head[4])
{
	int n = pkt_header(head);

	return n < 4 || n > BF_GIT_PKT_MAX ? -EINVAL : n;
}

size_t bf_git_flush_scan(struct bf_git_flush_scan *s, const char *p, size_t len)
{
	size_t at = 0;

	while (at < len && !s->done) {
		int n;

		if (s->pkt_left) {
			size_t take = len - at < s->pkt_left ? len - at : s->pkt_left;

			s->pkt_left -= take;
			at += take;
			continue;
		}
		s->head[s->head_len++] = p[at++];
		if (s->head_len < 4)
			continue;
		s->head_len = 0;
		n = pkt_header(s->head);
		/* 0001..0004 are a header alone (v2's delimiters, an empty packet). */
		if (n <= 0)
			s->done = 1;
		else if (n > 4)
			s->pkt_left = (size_t)n - 4;
	}
	return at;
}

static const struct {
	const char *name;
	enum bf_git_service service;
} services[] = {
	{ "git-upload-pack ", BF_GIT_UPLOAD_PACK },
	{ "git-receive-pack ", BF_GIT_RECEIVE_PACK },
};

/* The path: printable, no "..", what a client puts after the service. */
static int check_path(const char *p, size_t n, struct bf_error *err)
{
	if (n == 0 || p[0] != '/')
		return bf_error_set(err, EINVAL, "the repository path must start with '/'");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return bf_error_set(err, EINVAL, "the repository path holds a control byte or space");
	return 0;
}

int bf_git_request_parse(const char *pkt, size_t len, struct bf_git_request *out,
			 struct bf_error *err)
{
	const char *p, *end, *nul;
	size_t i, n;

	memset(out, 0, sizeof(*out));
	if (len < 4 || bf_git_pkt_len(pkt) != (int)len)
		return bf_error_set(err, EINVAL, "not a git request packet");
	p = pkt + 4;
	end = pkt + len;
	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		n = strlen(services[i].name);
		if ((size_t)(end - p) >= n && memcmp(p, services[i].name, n) == 0)
			break;
	}
	if (i == sizeof(services) / sizeof(services[0]))
		return bf_error_set(err, EINVAL, "unknown service (git-upload-pack and "
				    "git-receive-pack are served)");
	out->service = services[i].service;
	p += strlen(services[i].name);
	/* The path ends at a NUL, or at the packet's end (or a newline) for
	 * an old client that sends no host. */
	nul = memchr(p, '\0', (size_t)(end - p));
	n = (size_t)((nul ? nul : end) - p);
	if (n && p[n - 1] == '\n' && !nul)
		n--;
	if (check_path(p, n, err) < 0)
		return -EINVAL;
	if (n >= sizeof(out->path))
		return bf_error_set(err, ENAMETOOLONG, "the repository path is too long");
	memcpy(out->path, p, n);
	out->path[n] = '\0';
	if (!nul)
		return 0;
	p = nul + 1;
	/* host=...\0, optional. */
	if (p < end && *p != '\0') {
		if ((size_t)(end - p) < 5 || memcmp(p, "host=", 5) != 0)
			return bf_error_set(err, EINVAL, "expected host= after the path");
		nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			return bf_error_set(err, EINVAL, "the host parameter is not terminated");
		p = nul + 1;
	}
	/* Extra parameters follow one more NUL: key[=value]\0 each. */
	if (p >= end)
		return 0;
	if (*p != '\0')
		return bf_error_set(err, EINVAL, "unexpected bytes after the host parameter");
	for (p++; p < end; p = nul + 1) {
		nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			return bf_error_set(err, EINVAL, "an extra parameter is not terminated");
		if ((size_t)(nul - p) == 9 && memcmp(p, "version=", 8) == 0 && p[8] >= '0' &&
		    p[8] <= '2')
			out->version = p[8] - '0';
	}
	return 0;
}

size_t bf_git_pkt_error(char *out, size_t cap, const char *msg)
{
	size_t n;

	if (cap < 9)
		return 0;
	n = strlen(msg);
	if (n > cap - 9)
		n = cap - 9;
	if (n > BF_GIT_PKT_MAX - 9)
		n = BF_GIT_PKT_MAX - 9;
	snprintf(out, cap, "%04zxERR ", n + 9);
	memcpy(out + 8, msg, n);
	out[8 + n] = '\n';
	return n + 9;
}
