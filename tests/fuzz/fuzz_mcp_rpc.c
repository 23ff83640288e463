/* libFuzzer target for backend/mcp_rpc.c: any bytes as a POST body to
 * supervise. Every reply is one JSON-RPC 2.0 object that parses; a tool
 * call action carries its id and its arguments; a result built for it
 * parses too. Violations abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "mcp_rpc.h"

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			abort();        \
	} while (0)

static void check_json_rpc(const char *text)
{
	struct json_object *o = json_tokener_parse(text), *v;

	CHECK(o && json_object_is_type(o, json_type_object));
	CHECK(json_object_object_get_ex(o, "jsonrpc", &v));
	CHECK(strcmp(json_object_get_string(v), "2.0") == 0);
	CHECK(json_object_object_get_ex(o, "id", NULL));
	CHECK(json_object_object_get_ex(o, "result", NULL) != json_object_object_get_ex(o, "error", NULL));
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bf_mcp_call c;

	if (bf_mcp_handle((const char *)data, size, &c) < 0)
		return 0;
	switch (c.action) {
	case BF_MCP_REPLY:
		CHECK(c.reply);
		check_json_rpc(c.reply);
		break;
	case BF_MCP_ACCEPTED:
		CHECK(!c.reply);
		break;
	case BF_MCP_ASK_HUMAN:
		CHECK(c.id && c.question && *c.question);
		break;
	case BF_MCP_REQUEST_ACCESS:
		CHECK(c.id && c.host && c.reason && strrchr(c.host, ':'));
		break;
	}
	if (c.id) {
		char *r = bf_mcp_tool_result(c.id, "answer", false);

		CHECK(r);
		check_json_rpc(r);
		free(r);
	}
	bf_mcp_call_free(&c);
	return 0;
}
