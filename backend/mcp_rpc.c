#include "mcp_rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "allowlist.h"
#include "http_head.h"

/* Newest first: the answer to a version we do not know. */
static const char *const versions[] = { "2025-06-18", "2025-03-26", "2024-11-05" };

#define JSON_DEPTH 32

static char *to_text(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);

	return s ? strdup(s) : NULL;
}

/* {"jsonrpc":"2.0","id":ID,...} with `id` as JSON text ("null" when the
 * request's could not be read). */
static struct json_object *envelope(const char *id)
{
	struct json_object *o = json_object_new_object(), *id_obj;

	if (!o)
		return NULL;
	id_obj = json_tokener_parse(id ? id : "null");
	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "id", id_obj);
	return o;
}

static int reply_error(struct bf_mcp_call *out, const char *id, int code, const char *msg)
{
	struct json_object *o = envelope(id), *e = json_object_new_object();

	if (!o || !e) {
		json_object_put(o);
		json_object_put(e);
		return -ENOMEM;
	}
	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "error", e);
	out->action = BF_MCP_REPLY;
	out->reply = to_text(o);
	json_object_put(o);
	return out->reply ? 0 : -ENOMEM;
}

static int reply_result(struct bf_mcp_call *out, const char *id, struct json_object *result)
{
	struct json_object *o = envelope(id);

	if (!o || !result) {
		json_object_put(o);
		json_object_put(result);
		return -ENOMEM;
	}
	json_object_object_add(o, "result", result);
	out->action = BF_MCP_REPLY;
	out->reply = to_text(o);
	json_object_put(o);
	return out->reply ? 0 : -ENOMEM;
}

static int initialize(struct bf_mcp_call *out, const char *id, struct json_object *params)
{
	struct json_object *asked = NULL, *r = json_object_new_object(), *caps, *info;
	const char *version = versions[0];

	if (params && json_object_object_get_ex(params, "protocolVersion", &asked) &&
	    json_object_is_type(asked, json_type_string)) {
		for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
			if (strcmp(json_object_get_string(asked), versions[i]) == 0)
				version = versions[i];
	}
	if (!r)
		return -ENOMEM;
	caps = json_object_new_object();
	json_object_object_add(caps, "tools", json_object_new_object());
	info = json_object_new_object();
	json_object_object_add(info, "name", json_object_new_string("bottlefs-supervise"));
	json_object_object_add(info, "version", json_object_new_string(BOTTLEFS_VERSION));
	json_object_object_add(r, "protocolVersion", json_object_new_string(version));
	json_object_object_add(r, "capabilities", caps);
	json_object_object_add(r, "serverInfo", info);
	json_object_object_add(r, "instructions", json_object_new_string(
		"ask_human asks the person supervising this sandbox and waits for the answer; "
		"request_access asks them to let the egress proxy reach a host."));
	out->initialized = true;
	return reply_result(out, id, r);
}

static struct json_object *string_property(const char *description)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "type", json_object_new_string("string"));
	json_object_object_add(p, "description", json_object_new_string(description));
	return p;
}

static struct json_object *tool(const char *name, const char *description, const char *const *args,
				const char *const *arg_descriptions, size_t n)
{
	struct json_object *t = json_object_new_object(), *schema = json_object_new_object();
	struct json_object *props = json_object_new_object(), *required = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		json_object_object_add(props, args[i], string_property(arg_descriptions[i]));
		json_object_array_add(required, json_object_new_string(args[i]));
	}
	json_object_object_add(schema, "type", json_object_new_string("object"));
	json_object_object_add(schema, "properties", props);
	json_object_object_add(schema, "required", required);
	json_object_object_add(t, "name", json_object_new_string(name));
	json_object_object_add(t, "description", json_object_new_string(description));
	json_object_object_add(t, "inputSchema", schema);
	return t;
}

static int list_tools(struct bf_mcp_call *out, const char *id)
{
	static const char *const ask_args[] = { "question" };
	static const char *const ask_desc[] = { "What to ask, in full: the person sees only this" };
	static const char *const access_args[] = { "host", "reason" };
	static const char *const access_desc[] = { "HOST or HOST:PORT (443 if no port)",
						   "Why the agent needs it" };
	struct json_object *r = json_object_new_object(), *tools = json_object_new_array();

	json_object_array_add(tools, tool("ask_human", "Ask the person supervising this sandbox a "
					  "question and wait for their answer.", ask_args, ask_desc, 1));
	json_object_array_add(tools, tool("request_access", "Ask the person supervising this sandbox "
					  "to let the egress proxy reach a host; waits for the verdict.",
					  access_args, access_desc, 2));
	json_object_object_add(r, "tools", tools);
	return reply_result(out, id, r);
}

/* A string argument, or NULL. */
static const char *string_arg(struct json_object *args, const char *name)
{
	struct json_object *v;

	if (!args || !json_object_object_get_ex(args, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int call_tool(struct bf_mcp_call *out, const char *id, struct json_object *params)
{
	struct json_object *name_obj, *args = NULL;
	const char *name;

	if (!params || !json_object_object_get_ex(params, "name", &name_obj) ||
	    !json_object_is_type(name_obj, json_type_string))
		return reply_error(out, id, -32602, "tools/call needs a tool name");
	name = json_object_get_string(name_obj);
	json_object_object_get_ex(params, "arguments", &args);
	if (strcmp(name, "ask_human") == 0) {
		const char *q = string_arg(args, "question");

		if (!q || !*q || strlen(q) > BF_MCP_QUESTION_MAX)
			return reply_error(out, id, -32602, "ask_human needs a question (a string of 1 to 16384 bytes)");
		out->question = strdup(q);
		out->id = strdup(id);
		out->action = BF_MCP_ASK_HUMAN;
		return out->question && out->id ? 0 : -ENOMEM;
	}
	if (strcmp(name, "request_access") == 0) {
		const char *host = string_arg(args, "host"), *reason = string_arg(args, "reason");
		char key[300], target[256];
		struct bf_error err = { 0 };
		int port;

		if (!host || !reason || !*reason || strlen(reason) > BF_MCP_QUESTION_MAX)
			return reply_error(out, id, -32602, "request_access needs host and reason (strings)");
		/* The key is an allow rule with its port, as pending/ shows it. */
		if (strlen(host) > 260 || bf_allow_rule_check(host, &err) < 0 ||
		    !bf_http_parse_authority(host, strlen(host), target, sizeof(target), &port, 443) ||
		    bf_http_format_authority(target, port, key, sizeof(key)) < 0)
			return reply_error(out, id, -32602, "request_access: host must be HOST or HOST:PORT");
		out->host = strdup(key);
		out->reason = strdup(reason);
		out->id = strdup(id);
		out->action = BF_MCP_REQUEST_ACCESS;
		return out->host && out->reason && out->id ? 0 : -ENOMEM;
	}
	return reply_error(out, id, -32602, "unknown tool (ask_human and request_access are offered)");
}

int bf_mcp_handle(const char *body, size_t len, struct bf_mcp_call *out)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	struct json_object *msg = NULL, *v, *params = NULL;
	const char *method;
	char *id = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (!tok)
		return -ENOMEM;
	if (len <= (size_t)0x7fffffff)
		msg = json_tokener_parse_ex(tok, body, (int)len);
	/* Exactly one JSON value, nothing after it. */
	if (!msg || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		json_tokener_free(tok);
		json_object_put(msg);
		return reply_error(out, NULL, -32700, "parse error: the body is not one JSON value");
	}
	json_tokener_free(tok);
	if (json_object_is_type(msg, json_type_array)) {
		r = reply_error(out, NULL, -32600, "batches are not supported: one message a request");
		goto out;
	}
	if (!json_object_is_type(msg, json_type_object) ||
	    !json_object_object_get_ex(msg, "jsonrpc", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "2.0") != 0) {
		r = reply_error(out, NULL, -32600, "not a JSON-RPC 2.0 message");
		goto out;
	}
	if (json_object_object_get_ex(msg, "id", &v)) {
		if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int)) {
			r = reply_error(out, NULL, -32600, "an id is a string or an integer");
			goto out;
		}
		id = to_text(v);
		if (!id) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (!json_object_object_get_ex(msg, "method", &v) || !json_object_is_type(v, json_type_string)) {
		/* A response to us (we send no requests) or nonsense: taken. */
		out->action = id && (json_object_object_get_ex(msg, "result", NULL) ||
				     json_object_object_get_ex(msg, "error", NULL))
				      ? BF_MCP_ACCEPTED
				      : BF_MCP_REPLY;
		r = out->action == BF_MCP_ACCEPTED ? 0 : reply_error(out, id, -32600, "no method");
		goto out;
	}
	method = json_object_get_string(v);
	json_object_object_get_ex(msg, "params", &params);
	if (params && !json_object_is_type(params, json_type_object)) {
		r = id ? reply_error(out, id, -32602, "params must be an object") : 0;
		if (!id)
			out->action = BF_MCP_ACCEPTED;
		goto out;
	}
	if (!id) {
		/* Notifications (initialized, cancelled, ...) need no answer. */
		out->action = BF_MCP_ACCEPTED;
		r = 0;
	} else if (strcmp(method, "initialize") == 0) {
		r = initialize(out, id, params);
	} else if (strcmp(method, "ping") == 0) {
		r = reply_result(out, id, json_object_new_object());
	} else if (strcmp(method, "tools/list") == 0) {
		r = list_tools(out, id);
	} else if (strcmp(method, "tools/call") == 0) {
		r = call_tool(out, id, params);
	} else {
		r = reply_error(out, id, -32601, "method not found");
	}
out:
	json_object_put(msg);
	free(id);
	if (r < 0)
		bf_mcp_call_free(out);
	return r;
}

char *bf_mcp_tool_result(const char *id, const char *text, bool is_error)
{
	struct json_object *o = envelope(id), *r = json_object_new_object();
	struct json_object *content = json_object_new_array(), *item = json_object_new_object();
	char *s;

	if (!o || !r || !content || !item) {
		json_object_put(o);
		json_object_put(r);
		json_object_put(content);
		json_object_put(item);
		return NULL;
	}
	json_object_object_add(item, "type", json_object_new_string("text"));
	json_object_object_add(item, "text", json_object_new_string(text));
	json_object_array_add(content, item);
	json_object_object_add(r, "content", content);
	json_object_object_add(r, "isError", json_object_new_boolean(is_error));
	json_object_object_add(o, "result", r);
	s = to_text(o);
	json_object_put(o);
	return s;
}

void bf_mcp_call_free(struct bf_mcp_call *c)
{
	free(c->reply);
	free(c->id);
	free(c->question);
	free(c->host);
	free(c->reason);
	memset(c, 0, sizeof(*c));
}
