#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../backend/bottle.h"
#include "cunit_main.h"

static const struct bf_meta meta = {
	.identity = "demo-0000abcd", .backend = "oci", .octet = 42,
	.state = BF_STATE_PLANNED, .owner = 0, .created_at = 1764000000, .id_base = 1073741824,
};

static int build(const char *text, struct bf_bottle *b)
{
	struct bf_error err = { 0 };
	int line;

	return bf_bottle_build("demo", text, strlen(text), &meta, b, &err, &line);
}

static char *render(int (*fn)(const struct bf_bottle *, struct bf_buf *), const struct bf_bottle *b)
{
	struct bf_buf out = { 0 };

	CU_ASSERT_EQUAL(fn(b, &out), 0);
	return out.data;
}

static void test_env_sorted_with_proxy(void)
{
	struct bf_bottle b;
	char *env;

	CU_ASSERT_EQUAL_FATAL(build("agent = \"a\"\n[env]\nZ = \"1\"\nA = \"x\\\\y\"\n", &b), 0);
	env = render(bf_render_env, &b);
	CU_ASSERT_STRING_EQUAL(env,
		"A=x\\\\y\n"
		"HOME=/home/agent\n"
		"HTTPS_PROXY=http://127.0.0.1:8888\n"
		"HTTP_PROXY=http://127.0.0.1:8888\n"
		"LANG=C.UTF-8\n"
		"LOGNAME=agent\n"
		"NO_PROXY=localhost,127.0.0.1\n"
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
		"SHELL=/bin/sh\n"
		"TERM=xterm-256color\n"
		"USER=agent\n"
		"Z=1\n"
		"http_proxy=http://127.0.0.1:8888\n"
		"https_proxy=http://127.0.0.1:8888\n"
		"no_proxy=localhost,127.0.0.1\n");
	free(env);
	bf_bottle_free(&b);
}

static void test_path_prepend(void)
{
	struct bf_bottle b;
	char *env;

	CU_ASSERT_EQUAL_FATAL(build("agent = \"a\"\npath_prepend = [\"/opt/claude/bin\", \"/opt/x\"]\n", &b), 0);
	env = render(bf_render_env, &b);
	CU_ASSERT_PTR_NOT_NULL(strstr(env, "\nPATH=/opt/claude/bin:/opt/x:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
	free(env);
	bf_bottle_free(&b);
	CU_ASSERT_EQUAL_FATAL(build("agent = \"a\"\npath_prepend = [\"/p\"]\n[env]\nPATH = \"/bin\"\n", &b), 0);
	env = render(bf_render_env, &b);
	CU_ASSERT_PTR_NOT_NULL(strstr(env, "\nPATH=/p:/bin\n"));
	free(env);
	bf_bottle_free(&b);
	CU_ASSERT_NOT_EQUAL(build("agent = \"a\"\npath_prepend = [\"rel\"]\n", &b), 0);
	CU_ASSERT_NOT_EQUAL(build("agent = \"a\"\npath_prepend = [\"/a:b\"]\n", &b), 0);
}

static void test_sidecar_urls_only_when_enabled(void)
{
	struct bf_bottle b;
	char *env;

	CU_ASSERT_EQUAL_FATAL(build("agent = \"a\"\n", &b), 0);
	env = render(bf_render_env, &b);
	CU_ASSERT_PTR_NULL(strstr(env, "GIT_GATE_URL"));
	CU_ASSERT_PTR_NULL(strstr(env, "MCP_SUPERVISE_URL"));
	free(env);
	bf_bottle_free(&b);
	CU_ASSERT_EQUAL_FATAL(build("agent = \"a\"\n[sidecars]\ngit_gate = true\nsupervise = true\n[git]\nrepo = \"/r\"\n", &b), 0);
	env = render(bf_render_env, &b);
	CU_ASSERT_PTR_NOT_NULL(strstr(env, "GIT_GATE_URL=git://127.0.0.1:9418/repo.git\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(env, "MCP_SUPERVISE_URL=http://127.0.0.1:9100\n"));
	free(env);
	bf_bottle_free(&b);
}

static void test_vm_backends_dial_the_subnet_proxy(void)
{
	struct bf_bottle b;
	char *env;

	CU_ASSERT_EQUAL_FATAL(build("agent = \"a\"\nbackend = \"microvm\"\nimage = \"/img\"\n", &b), 0);
	env = render(bf_render_env, &b);
	CU_ASSERT_PTR_NOT_NULL(strstr(env, "HTTPS_PROXY=http://192.168.42.2:8888\n"));
	free(env);
	bf_bottle_free(&b);
}

static void test_reserved_env_refused(void)
{
	struct bf_bottle b;
	struct bf_error err = { 0 };
	const char *text = "agent = \"a\"\n[env]\nHTTPS_PROXY = \"http://evil\"\n";
	int line;

	CU_ASSERT_EQUAL(bf_bottle_build("demo", text, strlen(text), &meta, &b, &err, &line), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "HTTPS_PROXY is set by bottlefs"));
}

static void test_backend_image_check(void)
{
	struct bf_bottle b;

	CU_ASSERT_EQUAL(build("agent = \"a\"\nimage = \"debian:12\"\n", &b), -EINVAL);
	CU_ASSERT_EQUAL(build("agent = \"a\"\nbackend = \"docker\"\n", &b), -EINVAL);
}

static void test_plan(void)
{
	struct bf_bottle b;
	char *plan;

	CU_ASSERT_EQUAL_FATAL(build("agent = \"claude\"\n[network]\nallow = [\"a.example\"]\n"
				    "[limits]\nmemory = \"1G\"\n", &b), 0);
	plan = render(bf_render_plan, &b);
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "name = \"demo\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "backend = \"oci\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "command = [\n  \"sleep\",\n  \"infinity\",\n]\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "subnet = \"192.168.42.0/24\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "gateway = \"192.168.42.1\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "proxy = \"192.168.42.2\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "egress_proxy_port = 8888\n"));
	CU_ASSERT_PTR_NULL(strstr(plan, "git_gate_port"));
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "memory = 1073741824\n"));
	CU_ASSERT_PTR_NULL(strstr(plan, "cpus ="));
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "created_at = \"2025-11-24T16:00:00Z\"\n"));
	free(plan);
	bf_bottle_free(&b);
}

static void test_network_yaml(void)
{
	struct bf_bottle b;
	char *yaml;

	CU_ASSERT_EQUAL_FATAL(build("agent = \"a\"\n[sidecars]\nsupervise = true\n", &b), 0);
	yaml = render(bf_render_network, &b);
	CU_ASSERT_STRING_EQUAL(yaml,
		"# bottlefs network policy (generated)\n"
		"bottle: \"demo\"\n"
		"subnet: \"192.168.42.0/24\"\n"
		"gateway: \"192.168.42.1\"\n"
		"dns:\n"
		"  - zone: \".\"\n"
		"    records:\n"
		"      - name: \"proxy.internal\"\n"
		"        ip: \"192.168.42.2\"\n"
		"port_forwards:\n"
		"  - gateway_port: 8888\n"
		"    host: \"127.0.0.1\"\n"
		"    host_port: 8888\n"
		"  - gateway_port: 9100\n"
		"    host: \"127.0.0.1\"\n"
		"    host_port: 9100\n"
		"allow: []\n");
	free(yaml);
	bf_bottle_free(&b);
}

static void test_status(void)
{
	struct bf_bottle b;
	char *status;

	CU_ASSERT_EQUAL_FATAL(build("agent = \"cl\\\\aude\"\n[workspace]\npath = \"/src\"\nmode = \"bind\"\n", &b), 0);
	status = render(bf_render_status, &b);
	CU_ASSERT_STRING_EQUAL(status,
		"state: planned\n"
		"name: demo\n"
		"identity: demo-0000abcd\n"
		"agent: cl\\\\aude\n"
		"backend: oci\n"
		"workspace: /src\n"
		"copy_mode: bind\n"
		"subnet: 192.168.42.0/24\n"
		"created_at: 2025-11-24T16:00:00Z\n"
		"owner_uid: 0\n"
		"uid_map: 0 1073741824 65536\n"
		"gid_map: 0 1073741824 65536\n");
	free(status);
	bf_bottle_free(&b);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "env sorted with proxy variables", test_env_sorted_with_proxy },
		{ "path_prepend", test_path_prepend },
		{ "sidecar urls only when enabled", test_sidecar_urls_only_when_enabled },
		{ "vm backends dial the subnet proxy", test_vm_backends_dial_the_subnet_proxy },
		{ "reserved env refused", test_reserved_env_refused },
		{ "backend image check", test_backend_image_check },
		{ "plan", test_plan },
		{ "network yaml", test_network_yaml },
		{ "status", test_status },
		{ NULL, NULL },
	};

	return run_unit_tests("render", tests);
}
