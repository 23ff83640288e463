/* supervise's JSON-RPC side: version negotiation, tools, calls turned
 * into actions, and every kind of bad message answered with its error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../backend/mcp_rpc.h"
#include "cunit_main.h"

static struct bf_mcp_call handle(const char *body)
{
	struct bf_mcp_call c;

	CU_ASSERT_EQUAL_FATAL(bf_mcp_handle(body, strlen(body), &c), 0);
	return c;
}

static void assert_reply_has(const char *body, const char *needle)
{
	struct bf_mcp_call c = handle(body);

	CU_ASSERT_EQUAL(c.action, BF_MCP_REPLY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.reply);
	if (!strstr(c.reply, needle))
		CU_FAIL(c.reply);
	bf_mcp_call_free(&c);
}

static void test_initialize(void)
{
	struct bf_mcp_call c = handle("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
				      "\"params\":{\"protocolVersion\":\"2024-11-05\",\"capabilities\":{}}}");

	CU_ASSERT_EQUAL(c.action, BF_MCP_REPLY);
	CU_ASSERT_TRUE(c.initialized);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.reply, "\"protocolVersion\":\"2024-11-05\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.reply, "\"capabilities\":{\"tools\":{}}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.reply, "\"id\":1,"));
	bf_mcp_call_free(&c);
	/* A version we do not know: our newest, for the client to judge. */
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"initialize\","
			 "\"params\":{\"protocolVersion\":\"1999-01-01\"}}",
			 "\"protocolVersion\":\"2025-06-18\"");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"initialize\"}", "\"id\":\"a\"");
	c = handle("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
	CU_ASSERT_EQUAL(c.action, BF_MCP_ACCEPTED);
	bf_mcp_call_free(&c);
	c = handle("{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}");
	CU_ASSERT_EQUAL(c.action, BF_MCP_ACCEPTED);
	bf_mcp_call_free(&c);
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", "\"result\":{}");
}

static void test_tools(void)
{
	struct bf_mcp_call c;

	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", "\"name\":\"ask_human\"");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", "\"name\":\"request_access\"");
	c = handle("{\"jsonrpc\":\"2.0\",\"id\":\"q1\",\"method\":\"tools/call\",\"params\":{\"name\":"
		   "\"ask_human\",\"arguments\":{\"question\":\"May I?\"}}}");
	CU_ASSERT_EQUAL(c.action, BF_MCP_ASK_HUMAN);
	CU_ASSERT_STRING_EQUAL(c.question, "May I?");
	CU_ASSERT_STRING_EQUAL(c.id, "\"q1\"");
	bf_mcp_call_free(&c);
	c = handle("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
		   "\"request_access\",\"arguments\":{\"host\":\"api.example.com\",\"reason\":\"docs\"}}}");
	CU_ASSERT_EQUAL(c.action, BF_MCP_REQUEST_ACCESS);
	CU_ASSERT_STRING_EQUAL(c.host, "api.example.com:443");
	CU_ASSERT_STRING_EQUAL(c.reason, "docs");
	CU_ASSERT_STRING_EQUAL(c.id, "5");
	bf_mcp_call_free(&c);
	c = handle("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
		   "\"request_access\",\"arguments\":{\"host\":\"[::1]\",\"reason\":\"r\"}}}");
	CU_ASSERT_STRING_EQUAL(c.host, "[::1]:443");
	bf_mcp_call_free(&c);
	c = handle("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
		   "\"request_access\",\"arguments\":{\"host\":\"10.0.0.1:8080\",\"reason\":\"r\"}}}");
	CU_ASSERT_STRING_EQUAL(c.host, "10.0.0.1:8080");
	bf_mcp_call_free(&c);
}

static void test_errors(void)
{
	char *r;

	assert_reply_has("{nope", "\"code\":-32700");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} trailing", "\"code\":-32700");
	assert_reply_has("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", "\"code\":-32600");
	assert_reply_has("{\"id\":1,\"method\":\"ping\"}", "\"code\":-32600");
	assert_reply_has("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", "\"code\":-32600");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", "\"code\":-32600");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":1}", "\"code\":-32600");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}", "\"id\":1,\"error\":{\"code\":-32601");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":[]}", "\"code\":-32602");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}", "\"code\":-32602");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"sh\"}}",
			 "unknown tool");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ask_human\","
			 "\"arguments\":{\"question\":\"\"}}}", "\"code\":-32602");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"request_access\","
			 "\"arguments\":{\"host\":\"a b\",\"reason\":\"r\"}}}", "HOST or HOST:PORT");
	assert_reply_has("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"request_access\","
			 "\"arguments\":{\"host\":\"h\"}}}", "needs host and reason");
	{
		char deep[2001];

		memset(deep, '[', 1000);
		memset(deep + 1000, ']', 1000);
		deep[2000] = '\0';
		assert_reply_has(deep, "\"code\":-32700");
	}
	r = bf_mcp_tool_result("7", "yes \"quoted\"\n", false);
	CU_ASSERT_STRING_EQUAL(r, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"type\":\"text\","
			       "\"text\":\"yes \\\"quoted\\\"\\n\"}],\"isError\":false}}");
	free(r);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "initialize", test_initialize },
		{ "tools", test_tools },
		{ "errors", test_errors },
		{ NULL, NULL },
	};

	return run_unit_tests("mcp_rpc", tests);
}
