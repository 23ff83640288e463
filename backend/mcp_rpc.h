/* supervise's MCP server, the message side: one JSON-RPC 2.0 message of
 * the Model Context Protocol (as a Streamable HTTP POST carries it) in,
 * what to answer or do out. It negotiates the protocol version, lists two
 * tools, ask_human(question) and request_access(host, reason), and turns
 * a call of either into an action the server waits on a person for.
 * Pure: no I/O (json-c for the JSON); fuzzed on its own. */
#ifndef BOTTLEFS_MCP_RPC_H
#define BOTTLEFS_MCP_RPC_H

#include <stdbool.h>
#include <stddef.h>

#define BF_MCP_QUESTION_MAX (16 * 1024)

enum bf_mcp_action {
	BF_MCP_REPLY,           /* send `reply` (a JSON-RPC response) */
	BF_MCP_ACCEPTED,        /* a notification or response: 202, no body */
	BF_MCP_ASK_HUMAN,       /* wait for an answer to `question` */
	BF_MCP_REQUEST_ACCESS,  /* wait for a verdict on `host` ("HOST:PORT") */
};

struct bf_mcp_call {
	enum bf_mcp_action action;
	char *reply;            /* BF_MCP_REPLY */
	bool initialized;       /* the reply is initialize's: a session begins */
	char *id;               /* the request's id, as JSON text, for the result */
	char *question;         /* BF_MCP_ASK_HUMAN */
	char *host;             /* BF_MCP_REQUEST_ACCESS: HOST:PORT */
	char *reason;           /* BF_MCP_REQUEST_ACCESS */
};

/* Decides what to do with one message. Bad JSON, bad requests, unknown
 * methods and tools become a JSON-RPC error reply. 0, or -ENOMEM. */
int bf_mcp_handle(const char *body, size_t len, struct bf_mcp_call *out);

/* The response to a tool call: its text as one content item; is_error
 * marks a result the agent should read as a refusal. NULL on ENOMEM. */
char *bf_mcp_tool_result(const char *id, const char *text, bool is_error);

void bf_mcp_call_free(struct bf_mcp_call *c);

#endif
