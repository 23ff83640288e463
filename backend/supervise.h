/* supervise: the guest's MCP server (port 9100, MCP_SUPERVISE_URL), the
 * Streamable HTTP transport over HTTP/1.1 with keep-alive. JSON-RPC
 * messages are POSTed to / (or /mcp) and answered with application/json;
 * a tool call is answered when a person has decided:
 *
 *   ask_human(question)          NAME/requests/N/question, answer
 *   request_access(host, reason) NAME/pending/HOST:PORT (the egress queue)
 *
 * Each question is a line in MNT/requests.log when asked and when
 * answered or declined. */
#ifndef BOTTLEFS_SUPERVISE_H
#define BOTTLEFS_SUPERVISE_H

#include <stdbool.h>

struct bf_waitq;
struct bf_supervise;

/* `questions` and `approvals` are referenced; `log_path` is
 * STATE/requests.log. NULL on ENOMEM. */
struct bf_supervise *bf_supervise_new(const char *bottle, struct bf_waitq *questions,
				      struct bf_waitq *approvals, const char *log_path);
/* Serves one guest connection to its end; `fd` stays the caller's. */
void bf_supervise_serve(struct bf_supervise *s, int fd);
void bf_supervise_free(struct bf_supervise *s);

/* A line of requests.log: "TIME BOTTLE/N EVENT[: TEXT]", the text cut to
 * one line of printable characters. */
void bf_requests_log(const char *log_path, const char *bottle, const char *key, const char *event,
		     const char *text);

/* The question as NAME/requests/N/question shows it: the agent's text
 * with control bytes but newline and tab made '?', so that a person's
 * `cat` shows text and no terminal escapes. */
void bf_supervise_printable(char *text);

#endif
