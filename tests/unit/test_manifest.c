#include <errno.h>
#include <string.h>

#include "../../backend/manifest.h"
#include "cunit_main.h"

static int parse(const char *text, struct bf_manifest *m, struct bf_error *err, int *line)
{
	return bf_manifest_parse(text, strlen(text), m, err, line);
}

/* Expects a refusal with errno, line and a message fragment. */
static void refused(const char *text, int code, int want_line, const char *fragment)
{
	struct bf_manifest m;
	struct bf_error err = { 0 };
	int line = -1;

	CU_ASSERT_EQUAL(parse(text, &m, &err, &line), -code);
	CU_ASSERT_EQUAL(err.code, code);
	CU_ASSERT_EQUAL(line, want_line);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, fragment));
	if (!strstr(err.msg, fragment))
		fprintf(stderr, "\n  message was: %s\n", err.msg);
}

static void test_full_manifest(void)
{
	const char *text =
		"agent = \"claude\"\n"
		"backend = \"oci\"\n"
		"image = \"/srv/rootfs\"\n"
		"user = \"dev\"\n"
		"command = [\"bash\", \"-lc\", \"make\"]\n"
		"workdir = \"/src\"\n"
		"stop_timeout = 3\n"
		"[env]\n"
		"B = \"2\"\n"
		"A = \"1\"\n"
		"[workspace]\n"
		"path = \"/tmp\"\n"
		"mode = \"bind\"\n"
		"[network]\n"
		"allow = [\"api.example.com\", \"*.example.org:8443\", \"127.0.0.5:8080\", \"[::1]:443\"]\n"
		"[sidecars]\n"
		"git_gate = true\n"
		"[git]\n"
		"repo = \"/srv/repo\"\n"
		"push = [\"bottle/*\", \"refs/tags/v*\"]\n"
		"[limits]\n"
		"cpus = 2\n"
		"memory = \"2G\"\n"
		"pids = 512\n";
	struct bf_manifest m;
	struct bf_error err = { 0 };
	int line;

	CU_ASSERT_EQUAL_FATAL(parse(text, &m, &err, &line), 0);
	CU_ASSERT_STRING_EQUAL(m.agent, "claude");
	CU_ASSERT_STRING_EQUAL(m.backend, "oci");
	CU_ASSERT_STRING_EQUAL(m.image, "/srv/rootfs");
	CU_ASSERT_STRING_EQUAL(m.user, "dev");
	CU_ASSERT_EQUAL(m.command_len, 3);
	CU_ASSERT_STRING_EQUAL(m.command[2], "make");
	CU_ASSERT_STRING_EQUAL(m.workdir, "/src");
	CU_ASSERT_EQUAL(m.stop_timeout, 3);
	CU_ASSERT_EQUAL(m.env_len, 2);
	CU_ASSERT_STRING_EQUAL(m.env[0].name, "B");
	CU_ASSERT_STRING_EQUAL(m.workspace_path, "/tmp");
	CU_ASSERT_EQUAL(m.workspace_mode, BF_WORKSPACE_BIND);
	CU_ASSERT_EQUAL(m.allow_len, 4);
	CU_ASSERT_TRUE(m.git_gate);
	CU_ASSERT_STRING_EQUAL(m.git_repo, "/srv/repo");
	CU_ASSERT_EQUAL(m.git_push_len, 2);
	CU_ASSERT_STRING_EQUAL(m.git_push[1], "refs/tags/v*");
	/* fetch defaults to every branch; force to off. */
	CU_ASSERT_EQUAL(m.git_fetch_len, 1);
	CU_ASSERT_STRING_EQUAL(m.git_fetch[0], "*");
	CU_ASSERT_FALSE(m.git_force);
	CU_ASSERT_FALSE(m.supervise);
	CU_ASSERT_EQUAL(m.cpus, 2);
	CU_ASSERT_EQUAL(m.memory, 2LL << 30);
	CU_ASSERT_EQUAL(m.pids, 512);
	bf_manifest_free(&m);
}

static void test_git_table(void)
{
	struct bf_manifest m;
	struct bf_error err = { 0 };
	int line;

	CU_ASSERT_EQUAL(parse("agent = \"a\"\n[git]\nrepo = \"/r\"\nfetch = [\"main\"]\nforce = true\n", &m, &err, &line), 0);
	CU_ASSERT_TRUE(m.git_gate);
	CU_ASSERT_EQUAL(m.git_push_len, 0);
	CU_ASSERT_EQUAL(m.git_fetch_len, 1);
	CU_ASSERT_TRUE(m.git_force);
	bf_manifest_free(&m);
	CU_ASSERT_EQUAL(parse("agent = \"a\"\n[sidecars]\ngit_gate = true\n", &m, &err, &line), -EINVAL);
	CU_ASSERT_EQUAL(line, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "git_gate needs a [git] table"));
	CU_ASSERT_EQUAL(parse("agent = \"a\"\n[sidecars]\ngit_gate = false\n[git]\nrepo = \"/r\"\n", &m, &err, &line), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "contradicts"));
	CU_ASSERT_EQUAL(parse("agent = \"a\"\n[git]\npush = [\"x\"]\n", &m, &err, &line), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs repo"));
	CU_ASSERT_EQUAL(parse("agent = \"a\"\n[git]\nrepo = \"r\"\n", &m, &err, &line), -EINVAL);
	CU_ASSERT_EQUAL(parse("agent = \"a\"\n[git]\nrepo = \"/r\"\npush = [\"a b\"]\n", &m, &err, &line), -EINVAL);
	CU_ASSERT_EQUAL(line, 4);
	CU_ASSERT_EQUAL(parse("agent = \"a\"\n[git]\nrepo = \"/r\"\nfetch = [\"refs/*\"]\n", &m, &err, &line), -EINVAL);
	CU_ASSERT_EQUAL(parse("agent = \"a\"\n[git]\nrepo = \"/r\"\nforce = 1\n", &m, &err, &line), -EINVAL);
	CU_ASSERT_EQUAL(parse("agent = \"a\"\n[git]\nrepo = \"/r\"\nbranch = \"x\"\n", &m, &err, &line), -EINVAL);
}

static void test_defaults(void)
{
	struct bf_manifest m;
	struct bf_error err = { 0 };
	int line;

	CU_ASSERT_EQUAL_FATAL(parse("agent = \"a\"\n", &m, &err, &line), 0);
	CU_ASSERT_PTR_NULL(m.backend);
	CU_ASSERT_STRING_EQUAL(m.image, "host");
	CU_ASSERT_STRING_EQUAL(m.user, "agent");
	CU_ASSERT_EQUAL(m.command_len, 2);
	CU_ASSERT_STRING_EQUAL(m.command[0], "sleep");
	CU_ASSERT_STRING_EQUAL(m.workdir, "/work");
	CU_ASSERT_EQUAL(m.workspace_mode, BF_WORKSPACE_NONE);
	CU_ASSERT_EQUAL(m.stop_timeout, -1);
	CU_ASSERT_EQUAL(m.memory, 0);
	bf_manifest_free(&m);
}

static void test_workspace_path_defaults_to_copy(void)
{
	struct bf_manifest m;
	struct bf_error err = { 0 };
	int line;

	CU_ASSERT_EQUAL_FATAL(parse("agent = \"a\"\n[workspace]\npath = \"/x\"\n", &m, &err, &line), 0);
	CU_ASSERT_EQUAL(m.workspace_mode, BF_WORKSPACE_COPY);
	bf_manifest_free(&m);
}

static void test_unknown_key_hints(void)
{
	refused("agent = \"a\"\nimgae = \"host\"\n", EINVAL, 2, "did you mean \"image\"");
	refused("agent = \"a\"\n[limits]\nmemroy = \"1G\"\n", EINVAL, 3, "did you mean \"memory\"");
	refused("agent = \"a\"\nallow = []\n", EINVAL, 2, "did you mean [network] allow");
	refused("agent = \"a\"\nzzzzzzzz = 1\n", EINVAL, 2, "unknown key \"zzzzzzzz\"");
	refused("agent = \"a\"\n[bogus]\n", EINVAL, 2, "unknown key \"bogus\"");
}

static void test_wrong_types(void)
{
	refused("agent = 1\n", EINVAL, 1, "\"agent\" must be a string, not integer");
	refused("agent = \"a\"\ncommand = \"ls\"\n", EINVAL, 2, "array of strings");
	refused("agent = \"a\"\ncommand = [\"ls\", 1]\n", EINVAL, 2, "item 2 is integer");
	refused("agent = \"a\"\nenv = 3\n", EINVAL, 2, "must be a table");
	refused("agent = \"a\"\n[env]\nX = 1\n", EINVAL, 3, "\"X\" must be a string");
	refused("agent = \"a\"\n[limits]\ncpus = \"2\"\n", EINVAL, 3, "must be an integer");
	refused("agent = \"a\"\n[sidecars]\nsupervise = \"yes\"\n", EINVAL, 3, "must be a boolean");
}

static void test_missing_agent(void)
{
	refused("image = \"host\"\n", EINVAL, 0, "missing required key \"agent\"");
	refused("", EINVAL, 0, "missing required key \"agent\"");
}

static void test_duplicate_key(void)
{
	refused("agent = \"a\"\nagent = \"b\"\n", EINVAL, 2, "duplicate key");
}

static void test_bad_values(void)
{
	refused("agent = \"a\"\nbackend = \"lxc\"\n", EINVAL, 2, "unknown backend \"lxc\"");
	refused("agent = \"a\"\nworkdir = \"rel\"\n", EINVAL, 2, "absolute");
	refused("agent = \"a\"\nuser = \"a b\"\n", EINVAL, 2, "user must be");
	refused("agent = \"\"\n", EINVAL, 1, "must not be empty");
	refused("agent = \"a\"\ncommand = []\n", EINVAL, 2, "command must name a program");
	refused("agent = \"a\"\n[workspace]\nmode = \"copy\"\n", EINVAL, 3, "needs a path");
	refused("agent = \"a\"\n[workspace]\nmode = \"sync\"\n", EINVAL, 3, "copy\", \"bind\" or \"none\"");
	refused("agent = \"a\"\n[workspace]\npath = \"x\"\n", EINVAL, 3, "absolute");
	refused("agent = \"a\"\n[limits]\nmemory = \"lots\"\n", EINVAL, 3, "memory must look like");
	refused("agent = \"a\"\n[limits]\nmemory = \"1K\"\n", EINVAL, 3, "at least 4M");
	refused("agent = \"a\"\n[limits]\npids = 0\n", EINVAL, 3, "between 1 and");
	refused("agent = \"a\"\n[network]\nallow = [\"bad host!\"]\n", EINVAL, 3, "not allowed in a host name");
	refused("agent = \"a\"\n[network]\nallow = [\"h:99999\"]\n", EINVAL, 3, "port must be 1-65535");
	refused("agent = \"a\"\n[network]\nallow = [\"999.1.1.1\"]\n", EINVAL, 3, "not an IPv4 address");
}

static void test_syntax_error_line(void)
{
	refused("agent = \"a\"\n\nimage = \"unterminated\n", EINVAL, 3, "");
}

static void test_too_big(void)
{
	static char big[BF_MANIFEST_MAX + 2];
	struct bf_manifest m;
	struct bf_error err = { 0 };
	int line;

	memset(big, '#', sizeof(big) - 1);
	CU_ASSERT_EQUAL(bf_manifest_parse(big, sizeof(big) - 1, &m, &err, &line), -EFBIG);
	CU_ASSERT_EQUAL(err.code, EFBIG);
}

static void test_names(void)
{
	static char longest[BF_NAME_MAX + 2];

	CU_ASSERT_TRUE(bf_name_valid("demo"));
	CU_ASSERT_TRUE(bf_name_valid("0a_b.c-d"));
	CU_ASSERT_FALSE(bf_name_valid(""));
	CU_ASSERT_FALSE(bf_name_valid("Demo"));
	CU_ASSERT_FALSE(bf_name_valid("-x"));
	CU_ASSERT_FALSE(bf_name_valid(".x"));
	CU_ASSERT_FALSE(bf_name_valid("a/b"));
	CU_ASSERT_FALSE(bf_name_valid("a b"));
	CU_ASSERT_FALSE(bf_name_valid("new"));
	CU_ASSERT_FALSE(bf_name_valid("errors"));
	memset(longest, 'a', BF_NAME_MAX);
	CU_ASSERT_TRUE(bf_name_valid(longest));
	longest[BF_NAME_MAX] = 'a';
	CU_ASSERT_FALSE(bf_name_valid(longest));
}

static void test_parse_size(void)
{
	long long v;

	CU_ASSERT_EQUAL(bf_parse_size("512", &v), 0);
	CU_ASSERT_EQUAL(v, 512);
	CU_ASSERT_EQUAL(bf_parse_size("2G", &v), 0);
	CU_ASSERT_EQUAL(v, 2LL << 30);
	CU_ASSERT_EQUAL(bf_parse_size("64Mi", &v), 0);
	CU_ASSERT_EQUAL(v, 64LL << 20);
	CU_ASSERT_EQUAL(bf_parse_size("1KB", &v), 0);
	CU_ASSERT_EQUAL(v, 1024);
	CU_ASSERT_EQUAL(bf_parse_size("G", &v), -EINVAL);
	CU_ASSERT_EQUAL(bf_parse_size("1X", &v), -EINVAL);
	CU_ASSERT_EQUAL(bf_parse_size("-1", &v), -EINVAL);
	CU_ASSERT_EQUAL(bf_parse_size("99999999999T", &v), -ERANGE);
}

/* Values that land in guest files (passwd, env, config.json) are one
 * clean line; numeric users stay inside the bottle's id range. */
static void test_guest_file_values(void)
{
	struct bf_manifest m;
	struct bf_error err = { 0 };
	int line = 0;

	refused("agent = \"a\"\n[env]\nK = \"a\\nb\"\n", EINVAL, 3, "newline or control byte");
	refused("agent = \"a\"\n[env]\nK = \"a\\u0000b\"\n", EINVAL, 3, "");
	refused("agent = \"a\"\n[env]\n\"K=V\" = \"b\"\n", EINVAL, 3, "'='");
	refused("agent = \"a\"\n[env]\n\"K\\tV\" = \"b\"\n", EINVAL, 3, "control bytes");
	refused("agent = \"a\"\nworkdir = \"/a\\nb\"\n", EINVAL, 2, "workdir must not hold a newline");
	refused("agent = \"a\"\nworkdir = \"/a:b\"\n", EINVAL, 2, "':'");
	refused("agent = \"a\\r\"\n", EINVAL, 1, "agent must not hold");
	refused("agent = \"a\"\nuser = \"0\"\n", EINVAL, 2, "1-65534");
	refused("agent = \"a\"\nuser = \"65535\"\n", EINVAL, 2, "1-65534");
	refused("agent = \"a\"\nuser = \"4294967296\"\n", EINVAL, 2, "1-65534");
	refused("agent = \"a\"\nuser = \"000001\"\n", EINVAL, 2, "1-65534");
	refused("agent = \"a\"\nuser = \"\"\n", EINVAL, 2, "must not be empty");
	refused("agent = \"a\"\n[seccomp]\nallow = [\"nope\"]\n", EINVAL, 3, "not a system call");
	refused("agent = \"a\"\n[seccomp]\nallwo = []\n", EINVAL, 3, "allow");
	refused("agent = \"a\"\n[[mount]]\nsource = \"/\"\ntarget = \"/opt/x\"\n", EINVAL, 2, "source / is refused");
	refused("agent = \"a\"\n[[mount]]\nsource = \"/proc/1\"\ntarget = \"/opt/x\"\n", EINVAL, 2, "(/proc)");
	refused("agent = \"a\"\n[[mount]]\nsource = \"/run/docker.sock\"\ntarget = \"/s\"\n", EINVAL, 2, "a docker socket");
	refused("agent = \"a\"\n[[mount]]\nsource = \"/opt\"\ntarget = \"/work/x\"\n", EINVAL, 2, "bottlefs mounts itself");
	refused("agent = \"a\"\n[[mount]]\nsource = \"/opt\"\ntarget = \"/opt/../etc\"\n", EINVAL, 2, "not a plain path");
	refused("agent = \"a\"\n[[mount]]\nsource = \"/opt\"\ntarget = \"/x\"\nmode = \"rx\"\n", EINVAL, 2, "mode must be");
	refused("agent = \"a\"\n[[mount]]\nsource = \"/opt\"\n", EINVAL, 2, "needs a source and a target");
	refused("agent = \"a\"\n[[mount]]\nsource = \"/opt\"\ntarget = \"/x\"\nextra = 1\n", EINVAL, 5, "extra");
	refused("agent = \"a\"\nmount = [\"/opt\"]\n", EINVAL, 2, "array of tables");
	refused("agent = \"a\"\npath_prepend = [\"bin\"]\n", EINVAL, 2, "path_prepend");
	CU_ASSERT_EQUAL_FATAL(parse("agent = \"a\"\n[[mount]]\nsource = \"/opt/c\"\ntarget = \"/opt/c\"\n[[mount]]\nsource = \"/srv\"\ntarget = \"/srv\"\nmode = \"rw\"\n", &m, &err, &line), 0);
	CU_ASSERT_EQUAL(m.mounts_len, 2);
	CU_ASSERT(!m.mounts[0].rw);
	CU_ASSERT(m.mounts[1].rw);
	bf_manifest_free(&m);
	CU_ASSERT_EQUAL_FATAL(parse("agent = \"a\"\nuser = \"65534\"\n[env]\nK = \"\\\"$x\\u2028\"\n"
				    "[seccomp]\nallow = [\"keyctl\"]\n", &m, &err, &line), 0);
	CU_ASSERT_STRING_EQUAL(m.user, "65534");
	CU_ASSERT_EQUAL(m.seccomp_allow_len, 1);
	CU_ASSERT_STRING_EQUAL(m.seccomp_allow[0], "keyctl");
	bf_manifest_free(&m);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "full manifest", test_full_manifest },
		{ "defaults", test_defaults },
		{ "git_table", test_git_table },
		{ "workspace path defaults to copy", test_workspace_path_defaults_to_copy },
		{ "unknown keys get hints", test_unknown_key_hints },
		{ "wrong types", test_wrong_types },
		{ "missing agent", test_missing_agent },
		{ "duplicate key", test_duplicate_key },
		{ "bad values", test_bad_values },
		{ "syntax error line", test_syntax_error_line },
		{ "too big", test_too_big },
		{ "names", test_names },
		{ "sizes", test_parse_size },
		{ "guest file values", test_guest_file_values },
		{ NULL, NULL },
	};

	return run_unit_tests("manifest", tests);
}
