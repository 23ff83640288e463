#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bsd/string.h>

#include "http_head.h"
#include "log_append.h"
#include "mcp_rpc.h"
#include "sock_io.h"
#include "waitq.h"

#define HEAD_MAX (16 * 1024)
#define BODY_MAX (1024 * 1024)
#define IDLE_MS (300 * 1000)            /* a kept-alive connection's quiet */
#define DECISION_SECONDS (24 * 3600)    /* how long a tool call waits for a person */

struct bf_supervise {
	char bottle[64];
	char log_path[1300];
	struct bf_waitq *questions, *approvals;
	char session[40];       /* given at initialize, hex */
};

void bf_supervise_printable(char *t)
{
	for (; *t; t++)
		if (((unsigned char)*t < ' ' && *t != '\n' && *t != '\t') || *t == 0x7f)
			*t = '?';
}

void bf_requests_log(const char *log_path, const char *bottle, const char *key, const char *event,
		     const char *text)
{
	char one[201] = "", line[600];

	if (text) {
		strlcpy(one, text, sizeof(one));
		for (char *c = one; *c; c++)
			if ((unsigned char)*c < ' ' || *c == 0x7f)
				*c = ' ';
	}
	snprintf(line, sizeof(line), "%s/%s %s%s%s", bottle, key, event, text ? ": " : "", one);
	/* Guests that ask without end fill 2 MiB, no more. */
	if (bf_log_append(log_path, BF_LOG_APPEND_MAX, line) < 0)
		return;
}

struct bf_supervise *bf_supervise_new(const char *bottle, struct bf_waitq *questions,
				      struct bf_waitq *approvals, const char *log_path)
{
	struct bf_supervise *s = calloc(1, sizeof(*s));
	unsigned char raw[16];

	if (!s)
		return NULL;
	strlcpy(s->bottle, bottle, sizeof(s->bottle));
	strlcpy(s->log_path, log_path, sizeof(s->log_path));
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		memset(raw, 0, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(s->session + 2 * i, 3, "%02x", raw[i]);
	s->questions = questions;
	s->approvals = approvals;
	if (questions)
		bf_waitq_ref(questions);
	if (approvals)
		bf_waitq_ref(approvals);
	return s;
}

void bf_supervise_free(struct bf_supervise *s)
{
	if (!s)
		return;
	bf_waitq_unref(s->questions);
	bf_waitq_unref(s->approvals);
	free(s);
}

static int respond(int fd, int code, const char *status, const char *extra_headers,
		   const char *body, bool close_after)
{
	char head[1024];
	size_t blen = body ? strlen(body) : 0;
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\n%s%s\r\n", code, status,
			 body && blen ? "Content-Type: application/json\r\n" : "", blen,
			 extra_headers ? extra_headers : "",
			 close_after ? "Connection: close\r\n" : "");

	if (n < 0 || (size_t)n >= sizeof(head) || bf_send_all(fd, head, (size_t)n) < 0)
		return -1;
	return blen ? bf_send_all(fd, body, blen) : 0;
}

static int respond_text(int fd, int code, const char *status, const char *text, bool close_after)
{
	char head[512];
	size_t len = strlen(text);
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s%s\r\n",
			 code, status, len, code == 405 ? "Allow: POST\r\n" : "",
			 close_after ? "Connection: close\r\n" : "");

	if (n < 0 || (size_t)n >= sizeof(head) || bf_send_all(fd, head, (size_t)n) < 0)
		return -1;
	return bf_send_all(fd, text, len);
}

/* ask_human: NAME/requests/N until answered (the answer is the result) or
 * declined (an error result the agent can read). */
static char *ask_human(struct bf_supervise *s, int fd, const struct bf_mcp_call *c)
{
	char key[BF_WAITQ_KEY_MAX], *text = strdup(c->question), *answer = NULL, *result;
	struct bf_waitq_item *item;
	enum bf_waitq_verdict v;

	if (!text)
		return NULL;
	bf_supervise_printable(text);
	item = s->questions ? bf_waitq_post(s->questions, NULL, text, false, key) : NULL;
	free(text);
	if (!item)
		return bf_mcp_tool_result(c->id, errno == ENOSPC ? "too many questions wait already"
								   : "the sandbox is stopping",
					  true);
	bf_requests_log(s->log_path, s->bottle, key, "asked", c->question);
	v = bf_waitq_wait(s->questions, item, DECISION_SECONDS, bf_peer_still_there, &fd, &answer);
	switch (v) {
	case BF_WAITQ_ALLOWED:
		bf_requests_log(s->log_path, s->bottle, key, "answered", answer ? answer : "");
		result = bf_mcp_tool_result(c->id, answer ? answer : "", false);
		break;
	case BF_WAITQ_DENIED:
		bf_requests_log(s->log_path, s->bottle, key, "declined", NULL);
		result = bf_mcp_tool_result(c->id, "the person declined to answer", true);
		break;
	case BF_WAITQ_GONE:
		bf_requests_log(s->log_path, s->bottle, key, "withdrawn (the agent went away)", NULL);
		result = NULL;
		break;
	default:
		bf_requests_log(s->log_path, s->bottle, key, "unanswered", NULL);
		result = bf_mcp_tool_result(c->id, "no answer came", true);
	}
	free(answer);
	return result;
}

/* request_access: NAME/pending/HOST:PORT, as a refused connection would
 * be; allow there adds the rule. */
static char *request_access(struct bf_supervise *s, int fd, const struct bf_mcp_call *c)
{
	char key[BF_WAITQ_KEY_MAX], text[1024], stamp[32], msg[400], *answer = NULL;
	struct bf_waitq_item *item;
	enum bf_waitq_verdict v;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(text, sizeof(text), "time=%s\nrequest=request_access\nreason=%.800s\n", stamp, c->reason);
	bf_supervise_printable(text + strlen("time=") + strlen(stamp) + 1);
	/* One line each: a newline in the reason is not a new field. */
	{
		char *r = strstr(text, "reason=") + 7;

		for (char *e = r; *e && e[1]; e++)
			if (*e == '\n')
				*e = ' ';
	}
	item = s->approvals ? bf_waitq_post(s->approvals, c->host, text, true, key) : NULL;
	if (!item)
		return bf_mcp_tool_result(c->id, errno == ENOSPC ? "too many destinations wait already"
								   : "the sandbox is stopping",
					  true);
	v = bf_waitq_wait(s->approvals, item, DECISION_SECONDS, bf_peer_still_there, &fd, &answer);
	free(answer);
	if (v == BF_WAITQ_GONE)
		return NULL;
	snprintf(msg, sizeof(msg), "%s: %s", key,
		 v == BF_WAITQ_ALLOWED ? "allowed; the egress proxy lets it through now"
		 : v == BF_WAITQ_DENIED ? "denied" : "no decision came");
	return bf_mcp_tool_result(c->id, msg, v != BF_WAITQ_ALLOWED);
}

/* One POST's body: answered, 202, or an error status. False: close. */
static bool handle_post(struct bf_supervise *s, int fd, const char *body, size_t len, bool close_after)
{
	struct bf_mcp_call call;
	char session_header[80];
	char *reply = NULL;
	bool ok;

	if (bf_mcp_handle(body, len, &call) < 0)
		return respond_text(fd, 500, "Internal Server Error", "out of memory\n", true), false;
	switch (call.action) {
	case BF_MCP_ACCEPTED:
		ok = respond(fd, 202, "Accepted", NULL, NULL, close_after) == 0;
		break;
	case BF_MCP_REPLY:
		snprintf(session_header, sizeof(session_header), "Mcp-Session-Id: %s\r\n", s->session);
		ok = respond(fd, 200, "OK", call.initialized ? session_header : NULL, call.reply,
			     close_after) == 0;
		break;
	default:
		reply = call.action == BF_MCP_ASK_HUMAN ? ask_human(s, fd, &call)
							: request_access(s, fd, &call);
		ok = reply && respond(fd, 200, "OK", NULL, reply, close_after) == 0;
	}
	free(reply);
	bf_mcp_call_free(&call);
	return ok && !close_after;
}

void bf_supervise_serve(struct bf_supervise *s, int fd)
{
	char *buf = malloc(HEAD_MAX), *body = NULL;
	size_t len = 0, head_len = 0;

	if (!buf)
		return;
	for (;;) {
		struct bf_http_server_request req;
		const char *why = NULL;
		size_t have;

		if (bf_recv_head(fd, buf, HEAD_MAX, &len, &head_len, IDLE_MS, -1) < 0)
			break;
		if (bf_http_parse_server_request(buf, head_len, &req, &why) != 0) {
			respond_text(fd, 400, "Bad Request", why, true);
			break;
		}
		if (strcmp(req.path, "/") != 0 && strcmp(req.path, "/mcp") != 0) {
			respond_text(fd, 404, "Not Found", "the MCP endpoint is / (or /mcp)\n", true);
			break;
		}
		if (strcmp(req.method, "POST") != 0) {
			/* No server-initiated stream (GET) and no session to end
			 * (DELETE): both are optional in the transport. */
			if (respond_text(fd, 405, "Method Not Allowed", "POST JSON-RPC messages here\n",
					 req.close) < 0 || req.close)
				break;
			goto next;
		}
		if (req.chunked || req.content_length < 0) {
			respond_text(fd, 411, "Length Required", "a POST needs a Content-Length\n", true);
			break;
		}
		if (req.content_length > BODY_MAX) {
			respond_text(fd, 413, "Content Too Large", "a message is at most 1 MiB\n", true);
			break;
		}
		if (req.session[0] && strcmp(req.session, s->session) != 0) {
			respond_text(fd, 404, "Not Found", "no such session\n", true);
			break;
		}
		free(body);
		body = malloc((size_t)req.content_length + 1);
		if (!body)
			break;
		/* Bytes of the body that came with the head, then the rest. */
		have = len - head_len;
		if (have > (size_t)req.content_length)
			have = (size_t)req.content_length;
		memcpy(body, buf + head_len, have);
		if (bf_recv_all(fd, body + have, (size_t)req.content_length - have, 30000) < 0)
			break;
		memmove(buf, buf + head_len + have, len - head_len - have);
		len -= head_len + have;
		head_len = 0;
		if (!handle_post(s, fd, body, (size_t)req.content_length, req.close))
			break;
		continue;
next:
		memmove(buf, buf + head_len, len - head_len);
		len -= head_len;
		head_len = 0;
	}
	/* An error answer may have left the request unread. */
	bf_linger_before_close(fd);
	free(body);
	free(buf);
}
