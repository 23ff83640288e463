#include "egress_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bsd/string.h>

#include "cleanup.h"
#include "http_chunked.h"
#include "sock_io.h"

#define HEAD_MAX BF_EGRESS_HEAD_MAX
/* A head rewritten for its next hop, and what of the body came with it. */
#define OUT_MAX (2 * HEAD_MAX + 64)
/* What a relay moves at once, and the size of its pipes. */
#define RELAY_CHUNK (1024 * 1024)

/* An error answer: the reason in the body and, for clients that never
 * show a CONNECT refusal's body (HTTPS ones), in a Proxy-Status header
 * (RFC 9209) with its error type. */
void bf_egress_http_error(int fd, int code, const char *status, const char *error,
			  const char *reason)
{
	char resp[1400], body[400], details[800];
	size_t o = 0;
	int n;

	for (const char *p = reason; *p && o + 2 < sizeof(details); p++) {
		if (*p == '"' || *p == '\\')
			details[o++] = '\\';
		details[o++] = *p >= ' ' && *p <= '~' ? *p : '?';
	}
	details[o] = '\0';
	snprintf(body, sizeof(body), "bottlefs: %s\n", reason);
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 %d %s\r\nProxy-Status: bottlefs; error=%s; details=\"%s\"\r\n"
		     "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s", code, status, error, details, strlen(body), body);
	if (n > 0)
		bf_send_all(fd, resp, (size_t)n < sizeof(resp) ? (size_t)n : sizeof(resp) - 1);
}

void bf_relay_pipes_close(struct bf_relay_pipes *rp)
{
	int i, j;

	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			if (rp->fds[i][j] >= 0)
				close(rp->fds[i][j]);
			rp->fds[i][j] = -1;
		}
}

int bf_relay_pipes_open(struct bf_relay_pipes *rp)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (pipe2(rp->fds[i], O_CLOEXEC) < 0) {
			rp->fds[i][0] = rp->fds[i][1] = -1;
			bf_relay_pipes_close(rp);
			return -1;
		}
		fcntl(rp->fds[i][1], F_SETPIPE_SZ, RELAY_CHUNK);
	}
	return 0;
}

/* Bytes that a vanished side left in the pipes must not reach the next
 * connection: the worker gets new pipes. */
static void pipes_renew(struct bf_relay_pipes *rp)
{
	bf_relay_pipes_close(rp);
	bf_relay_pipes_open(rp);
}

/* A connection quiet for `idle` seconds is ended, and its line says so. */
static void note_idle(struct bf_egress_decision *d, int idle)
{
	snprintf(d->reason, sizeof(d->reason), "idle for %d s: ended", idle);
	d->idle_ended = true;
}

/* Moves `len` bytes that wait in a pipe on to `to`; -1 if `to` failed. */
static int pipe_to(int pipe_r, int to, size_t len)
{
	while (len > 0) {
		ssize_t n = splice(pipe_r, NULL, to, NULL, len, SPLICE_F_MOVE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len -= (size_t)n;
	}
	return 0;
}

/* Moves both ways until both are done; a half-close is passed on. A
 * connection quiet both ways for `idle` seconds is ended. */
void bf_relay_both_ways(int client, int upstream, struct bf_egress_decision *d, int idle,
		       struct bf_relay_pipes *rp)
{
	struct pollfd p[2] = { { client, POLLIN, 0 }, { upstream, POLLIN, 0 } };
	int open_dirs = 2, r = 0;

	while (open_dirs > 0) {
		int i, ready = poll(p, 2, idle * 1000);

		if (ready < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (ready == 0) {
			note_idle(d, idle);
			break;
		}
		for (i = 0; i < 2; i++) {
			int from = i == 0 ? client : upstream, to = i == 0 ? upstream : client;
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = splice(from, NULL, rp->fds[i][1], NULL, RELAY_CHUNK,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n > 0 && pipe_to(rp->fds[i][0], to, (size_t)n) == 0) {
				if (i == 0)
					d->up += (unsigned long long)n;
				else
					d->down += (unsigned long long)n;
				continue;
			}
			if (n < 0 || n > 0) {
				/* A side vanished: nothing more can be delivered. */
				r = n > 0 ? -1 : 0;
				open_dirs = 0;
				break;
			}
			shutdown(to, SHUT_WR);
			p[i].fd = -1;
			open_dirs--;
		}
	}
	if (r < 0)
		pipes_renew(rp);
}

/* --- one request and its response on a connection to the origin that
 * may serve the next request (plain http:// only: a CONNECT tunnel's
 * bytes are the client's own) */

/* Waits until `fd` can be read, up to `idle` seconds; a hang-up of the
 * client (a stop shuts its socket down) ends the wait. 1 ready, 0 after
 * `idle` (d says so), -1 the client is gone. */
static int wait_readable(int fd, int client, int idle, struct bf_egress_decision *d)
{
	struct pollfd p[2] = { { fd, POLLIN, 0 }, { client, 0, 0 } };

	for (;;) {
		int r = poll(p, fd == client ? 1 : 2, idle * 1000);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (fd != client && (p[1].revents & (POLLHUP | POLLERR))))
			return -1;
		if (r == 0) {
			note_idle(d, idle);
			return 0;
		}
		return 1;
	}
}

/* Moves `len` bytes from `from` to `to` through the pipe of direction
 * `dir` (0 up, 1 down), or all until `from` ends if `until_end`. 0, or
 * -1 if `from` ended early or went quiet, or `to` failed. */
static int move_bytes(int from, int to, unsigned long long len, bool until_end,
		      struct bf_relay_pipes *rp, int dir, int client, int idle,
		      struct bf_egress_decision *d, unsigned long long *count)
{
	int *pipe = rp->fds[dir];

	while (until_end || len > 0) {
		size_t want = !until_end && len < RELAY_CHUNK ? (size_t)len : RELAY_CHUNK;
		ssize_t n;

		if (wait_readable(from, client, idle, d) <= 0)
			return -1;
		n = splice(from, NULL, pipe[1], NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 0 && until_end)
			return 0;
		if (n <= 0)
			return -1;
		if (pipe_to(pipe[0], to, (size_t)n) < 0) {
			pipes_renew(rp);
			return -1;
		}
		*count += (unsigned long long)n;
		len -= until_end ? 0 : (unsigned long long)n;
	}
	return 0;
}

/* Passes a chunked body on to its end: `have` bytes of it are in buf
 * already, the rest is read into buf (cap bytes). 1 if it ended exactly
 * at the end of what the origin sent, 0 if the origin sent more (the
 * connection is not kept), -1 if it failed or broke the syntax. */
static int move_chunked(int up, int client, char *buf, size_t cap, size_t have, int idle,
			struct bf_egress_decision *d)
{
	struct bf_http_chunked body = BF_HTTP_CHUNKED_INIT;
	bool done = false;

	for (;;) {
		ssize_t used = have ? bf_http_chunked_feed(&body, buf, have, &done) : 0;
		ssize_t n;

		if (used < 0) {
			strlcpy(d->reason, "the origin's chunked body is malformed", sizeof(d->reason));
			return -1;
		}
		if (used && bf_send_all(client, buf, (size_t)used) < 0)
			return -1;
		d->down += (unsigned long long)used;
		if (done)
			return (size_t)used == have ? 1 : 0;
		if (wait_readable(up, client, idle, d) <= 0)
			return -1;
		n = recv(up, buf, cap, 0);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n <= 0)
			return -1;
		have = (size_t)n;
	}
}

/* Sends the request (head in buf[0..head_len), `len` bytes read, body of
 * `body_len`) and passes the response on, with a head that ends the
 * client's connection after it. The origin's connection stays open for
 * the next request unless either side's framing says otherwise. */
enum bf_exchanged bf_relay_exchange(int client, int up, bool reused, const char *buf, size_t len,
				    size_t head_len, const struct bf_http_request *req,
				    long long body_len, int idle, struct bf_egress_decision *d,
				    struct bf_relay_pipes *rp)
{
	/* `out`: a head for its next hop and the body bytes that came with
	 * it, sent at once; `resp`: the origin's answer as read. */
	cleanup_free char *bufs = malloc(OUT_MAX + HEAD_MAX + 1);
	char *out, *resp;
	size_t early = len - head_len, hlen, rlen = 0, rhead = 0, body_have, first;
	struct bf_http_framing f;
	enum bf_http_body kind;
	const char *why = NULL;
	bool http10 = false;
	int status = 0, r;

	if (!bufs)
		return BF_EXCHANGE_DONE;
	out = bufs;
	resp = bufs + OUT_MAX;
	/* Bytes past the body would be a second request: the client's
	 * connection ends after this one, so they are not sent. */
	if (early > (unsigned long long)body_len)
		early = (size_t)body_len;
	hlen = bf_http_origin_head(buf, head_len, req, true, out, OUT_MAX);
	if (bf_send_all(up, out, hlen) < 0 || (early && bf_send_all(up, buf + head_len, early) < 0))
		return reused && early == (size_t)body_len ? BF_EXCHANGE_RETRY : BF_EXCHANGE_DONE;
	d->up += hlen + early;
	if ((unsigned long long)body_len > early) {
		if (move_bytes(client, up, (unsigned long long)body_len - early, false, rp, 0, client,
			       idle, d, &d->up) < 0)
			return BF_EXCHANGE_DONE;
	}
	/* Interim answers (100, 103) go on as they are, then the final one. */
	for (;;) {
		r = bf_recv_head(up, resp, HEAD_MAX, &rlen, &rhead, idle * 1000, client);
		if (r == -ECONNRESET && reused && rlen == 0 && early == (size_t)body_len &&
		    d->down == 0)
			return BF_EXCHANGE_RETRY;
		if (r < 0 || bf_http_parse_status(resp, rhead, &status, &http10) < 0 ||
		    bf_http_parse_framing(resp, rhead, http10, &f, &why) != 0 || status == 101) {
			snprintf(d->reason, sizeof(d->reason), "the origin's answer: %s",
				 r == -ETIMEDOUT ? "none in time" : r == -E2BIG ? "head over 16 KiB"
				 : r < 0 ? "it closed before a head" : "not an HTTP/1.x response head");
			d->upstream_failed = true;
			if (d->down == 0 && r != -ECONNABORTED)
				bf_egress_http_error(client, r == -ETIMEDOUT ? 504 : 502,
						     r == -ETIMEDOUT ? "Gateway Timeout" : "Bad Gateway",
						     "destination_unavailable", d->reason);
			return BF_EXCHANGE_DONE;
		}
		if (status >= 200)
			break;
		if (bf_send_all(client, resp, rhead) < 0)
			return BF_EXCHANGE_DONE;
		d->down += rhead;
		memmove(resp, resp + rhead, rlen - rhead);
		rlen -= rhead;
	}
	kind = bf_http_response_body(req->method, status, &f);
	hlen = bf_http_client_head(resp, rhead, out, HEAD_MAX + 64);
	if (!hlen)
		return BF_EXCHANGE_DONE;
	body_have = rlen - rhead;
	if (kind == BF_HTTP_BODY_CHUNKED) {
		if (bf_send_all(client, out, hlen) < 0)
			return BF_EXCHANGE_DONE;
		d->down += hlen;
		memmove(resp, resp + rhead, body_have);
		r = move_chunked(up, client, resp, HEAD_MAX, body_have, idle, d);
		/* A length beside the coding is a smuggler's message: not kept. */
		return r == 1 && !f.close && f.content_length < 0 ? BF_EXCHANGE_KEEP : BF_EXCHANGE_DONE;
	}
	/* The body's bytes that came with the head go with it. */
	first = kind == BF_HTTP_BODY_NONE ? 0 : body_have;
	if (kind == BF_HTTP_BODY_LENGTH && first > (unsigned long long)f.content_length)
		first = (size_t)f.content_length;
	memcpy(out + hlen, resp + rhead, first);
	if (bf_send_all(client, out, hlen + first) < 0)
		return BF_EXCHANGE_DONE;
	d->down += hlen + first;
	if (kind == BF_HTTP_BODY_NONE)
		return body_have == 0 && !f.close ? BF_EXCHANGE_KEEP : BF_EXCHANGE_DONE;
	if (kind == BF_HTTP_BODY_LENGTH) {
		if (move_bytes(up, client, (unsigned long long)f.content_length - first, false, rp, 1,
			       client, idle, d, &d->down) < 0)
			return BF_EXCHANGE_DONE;
		return body_have == first && !f.close ? BF_EXCHANGE_KEEP : BF_EXCHANGE_DONE;
	}
	move_bytes(up, client, 0, true, rp, 1, client, idle, d, &d->down);
	return BF_EXCHANGE_DONE;
}

