#include <errno.h>
#include <string.h>

#include "../../backend/microvm/vm_frame.h"
#include "cunit_main.h"

static void test_roundtrip_and_partial(void)
{
	struct bf_buf b = { 0 };
	struct bf_vm_frame f;
	size_t i;

	bf_vm_frame_append(&b, 7, BF_VM_STDOUT, "hello", 5);
	bf_vm_frame_append(&b, BF_VM_CHAN_MAIN, BF_VM_STDIN, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(bf_buf_finish(&b), 0);
	CU_ASSERT_EQUAL(b.len, 2 * BF_VM_FRAME_HEAD + 5);
	/* Every proper prefix of the first frame is incomplete. */
	for (i = 0; i < BF_VM_FRAME_HEAD + 5; i++)
		CU_ASSERT_EQUAL(bf_vm_frame_parse(b.data, i, &f), 0);
	CU_ASSERT_EQUAL(bf_vm_frame_parse(b.data, b.len, &f), BF_VM_FRAME_HEAD + 5);
	CU_ASSERT_EQUAL(f.chan, 7);
	CU_ASSERT_EQUAL(f.type, BF_VM_STDOUT);
	CU_ASSERT_EQUAL(f.len, 5);
	CU_ASSERT_EQUAL(memcmp(f.data, "hello", 5), 0);
	CU_ASSERT_EQUAL(bf_vm_frame_parse(b.data + 17, b.len - 17, &f), BF_VM_FRAME_HEAD);
	CU_ASSERT_EQUAL(f.type, BF_VM_STDIN);
	CU_ASSERT_EQUAL(f.len, 0);
	bf_buf_free(&b);
}

static void test_u32(void)
{
	char head[BF_VM_FRAME_HEAD + 4];
	struct bf_vm_frame f;

	bf_vm_frame_head(head, 2, BF_VM_EXIT, 4);
	memcpy(head + BF_VM_FRAME_HEAD, "\x00\x0f\x00\x80", 4);
	CU_ASSERT_EQUAL(bf_vm_frame_parse(head, sizeof(head), &f), (ssize_t)sizeof(head));
	CU_ASSERT_EQUAL(bf_vm_frame_u32(&f), 0x80000f00LL);
	f.len = 3;
	CU_ASSERT_EQUAL(bf_vm_frame_u32(&f), -1);
}

static void test_bad_heads(void)
{
	char head[BF_VM_FRAME_HEAD];
	struct bf_vm_frame f;

	bf_vm_frame_head(head, 1, BF_VM_TYPE_END, 0);
	CU_ASSERT_EQUAL(bf_vm_frame_parse(head, sizeof(head), &f), -EPROTO);
	bf_vm_frame_head(head, 1, 0, 0);
	CU_ASSERT_EQUAL(bf_vm_frame_parse(head, sizeof(head), &f), -EPROTO);
	bf_vm_frame_head(head, 1, BF_VM_STDOUT, BF_VM_FRAME_MAX + 1);
	CU_ASSERT_EQUAL(bf_vm_frame_parse(head, sizeof(head), &f), -EPROTO);
	bf_vm_frame_head(head, 1, BF_VM_STDOUT, 0);
	head[10] = 1;
	CU_ASSERT_EQUAL(bf_vm_frame_parse(head, sizeof(head), &f), -EPROTO);
}

static void test_exec_fields(void)
{
	struct bf_buf b = { 0 };
	struct bf_vm_exec x;
	const char *why = NULL;

	bf_vm_exec_field(&b, "uid", "1000");
	bf_vm_exec_field(&b, "gid", "100");
	bf_vm_exec_field(&b, "cwd", "/work");
	bf_vm_exec_field(&b, "arg", "sh");
	bf_vm_exec_field(&b, "arg", "-c");
	bf_vm_exec_field(&b, "arg", "echo a=b");
	bf_vm_exec_field(&b, "env", "PATH=/bin");
	CU_ASSERT_EQUAL_FATAL(bf_buf_finish(&b), 0);
	CU_ASSERT_EQUAL_FATAL(bf_vm_exec_parse(b.data, b.len, &x, &why), 0);
	CU_ASSERT_EQUAL(x.uid, 1000);
	CU_ASSERT_EQUAL(x.gid, 100);
	CU_ASSERT_STRING_EQUAL(x.cwd, "/work");
	CU_ASSERT_EQUAL(x.argc, 3);
	CU_ASSERT_STRING_EQUAL(x.argv[2], "echo a=b");
	CU_ASSERT_PTR_NULL(x.argv[3]);
	CU_ASSERT_EQUAL(x.envc, 1);
	CU_ASSERT_STRING_EQUAL(x.env[0], "PATH=/bin");
	CU_ASSERT_EQUAL(x.cols, 0);     /* no terminal unless asked */
	bf_vm_exec_field(&b, "pty", "120x40");
	CU_ASSERT_EQUAL_FATAL(bf_buf_finish(&b), 0);
	CU_ASSERT_EQUAL_FATAL(bf_vm_exec_parse(b.data, b.len, &x, &why), 0);
	CU_ASSERT_EQUAL(x.cols, 120);
	CU_ASSERT_EQUAL(x.rows, 40);
	/* Without its last NUL the payload is refused, not read past. */
	CU_ASSERT_EQUAL(bf_vm_exec_parse(b.data, b.len - 1, &x, &why), -EINVAL);
	bf_buf_free(&b);
}

static void test_exec_refusals(void)
{
	static const struct {
		const char *data;
		size_t len;
	} bad[] = {
		{ "uid=-1\0arg=x", 13 }, { "uid=4294967295\0arg=x", 21 }, { "uid=1x\0arg=x", 13 },
		{ "cwd=rel\0arg=x", 14 }, { "who=1\0arg=x", 12 }, { "arg\0", 4 },
		{ "env=NOEQ\0arg=x", 15 }, { "uid=1\0", 6 }, { "arg=\0", 5 }, { "", 0 },
		{ "pty=0x40\0arg=x", 15 }, { "pty=80x\0arg=x", 14 }, { "pty=80\0arg=x", 13 },
		{ "pty=65536x1\0arg=x", 18 }, { "pty=80x40x\0arg=x", 17 }, { "pty=-1x5\0arg=x", 15 },
	};
	struct bf_vm_exec x;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		CU_ASSERT_EQUAL(bf_vm_exec_parse(bad[i].data, bad[i].len, &x, &why), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(why);
	}
}

static void test_exec_limits(void)
{
	struct bf_buf b = { 0 };
	struct bf_vm_exec x;
	const char *why = NULL;
	int i;

	for (i = 0; i <= BF_VM_EXEC_ARGS_MAX; i++)
		bf_vm_exec_field(&b, "arg", "a");
	CU_ASSERT_EQUAL_FATAL(bf_buf_finish(&b), 0);
	CU_ASSERT_EQUAL(bf_vm_exec_parse(b.data, b.len, &x, &why), -EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "too many args");
	bf_buf_free(&b);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "frames round-trip; prefixes are incomplete", test_roundtrip_and_partial },
		{ "u32 payloads", test_u32 },
		{ "bad heads are refused", test_bad_heads },
		{ "exec fields", test_exec_fields },
		{ "exec refusals", test_exec_refusals },
		{ "exec limits", test_exec_limits },
		{ NULL, NULL },
	};

	return run_unit_tests("vm_frame", tests);
}
