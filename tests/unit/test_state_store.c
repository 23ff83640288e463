#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backend/state_store.h"
#include "../../backend/oci/oci_run.h"
#include "cunit_main.h"

static char dir[64];
static char bottles[128];

struct loaded {
	int records;
	int problems;
	char last_name[64];
	char last_text[256];
	struct bf_meta last_meta;
	char last_problem[256];
};

static int on_record(void *ctx, const char *name, const char *text, size_t len,
		     const struct bf_meta *meta)
{
	struct loaded *l = ctx;

	l->records++;
	snprintf(l->last_name, sizeof(l->last_name), "%s", name);
	snprintf(l->last_text, sizeof(l->last_text), "%.*s", (int)len, text);
	l->last_meta = *meta;
	return 0;
}

static void on_problem(void *ctx, const char *file, const char *reason)
{
	struct loaded *l = ctx;

	l->problems++;
	snprintf(l->last_problem, sizeof(l->last_problem), "%s: %s", file, reason);
}

static const struct bf_meta meta = {
	.identity = "demo-12345678", .backend = "oci", .octet = 7,
	.state = BF_STATE_PLANNED, .owner = 1000, .created_at = 1764000000,
};

static void fresh_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/bottlefs-state-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(bottles, sizeof(bottles), "%s/bottles", dir);
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void write_raw(const char *file, const char *data)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", bottles, file);
	unit_write_file(path, data, 0644);
}

static struct loaded load(struct bf_store *s)
{
	struct loaded l = { 0 };
	struct bf_error err = { 0 };

	CU_ASSERT_EQUAL(bf_store_load(s, on_record, on_problem, &l, &err), 0);
	return l;
}

static void test_roundtrip(void)
{
	struct bf_store s;
	struct bf_error err = { 0 };
	const char *text = "agent = \"a\"\n# \"quotes\" \\ and \xc3\xa9\n";
	struct loaded l;

	struct bf_meta m = meta;

	/* What re-attach verifies must come back exactly. */
	m.id_base = 1073807360ULL;
	m.run.pid = 4321;
	m.run.launched = true;
	strcpy(oci_run(&m.run)->container_id, "bottlefs-demo-12345678");
	strcpy(oci_run(&m.run)->runtime, "runc");
	oci_run(&m.run)->shim.pid = 4320;
	oci_run(&m.run)->shim.start = 987654321ULL;
	m.run.guest_start = 987654399ULL;
	oci_run(&m.run)->shim.exe_dev = 2049;
	oci_run(&m.run)->shim.exe_ino = 1234567;
	m.run.guest_userns = 4026532000ULL;
	m.run.workspace_idmapped = true;
	m.run.workspace_uid = 4242;
	m.run.workspace_gid = 4343;
	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(bf_store_open(dir, &s, &err), 0);
	CU_ASSERT_EQUAL(bf_store_save(&s, "demo", text, strlen(text), &m, &err), 0);
	l = load(&s);
	CU_ASSERT_EQUAL(l.records, 1);
	CU_ASSERT_EQUAL(l.problems, 0);
	CU_ASSERT_STRING_EQUAL(l.last_name, "demo");
	CU_ASSERT_STRING_EQUAL(l.last_text, text);
	CU_ASSERT_STRING_EQUAL(l.last_meta.identity, "demo-12345678");
	CU_ASSERT_STRING_EQUAL(l.last_meta.backend, "oci");
	CU_ASSERT_EQUAL(l.last_meta.octet, 7);
	CU_ASSERT_EQUAL(l.last_meta.owner, 1000);
	CU_ASSERT_EQUAL(l.last_meta.created_at, 1764000000);
	CU_ASSERT_EQUAL(l.last_meta.state, BF_STATE_PLANNED);
	CU_ASSERT_EQUAL(l.last_meta.id_base, 1073807360ULL);
	CU_ASSERT_EQUAL(l.last_meta.run.pid, 4321);
	/* The backend's own part, through its run_save and run_load. */
	CU_ASSERT(l.last_meta.run.launched);
	CU_ASSERT_STRING_EQUAL(oci_run(&l.last_meta.run)->container_id, "bottlefs-demo-12345678");
	CU_ASSERT_STRING_EQUAL(oci_run(&l.last_meta.run)->runtime, "runc");
	CU_ASSERT_EQUAL(oci_run(&l.last_meta.run)->shim.pid, 4320);
	CU_ASSERT_EQUAL(oci_run(&l.last_meta.run)->shim.start, 987654321ULL);
	CU_ASSERT_EQUAL(l.last_meta.run.guest_start, 987654399ULL);
	CU_ASSERT_EQUAL(oci_run(&l.last_meta.run)->shim.exe_dev, 2049);
	CU_ASSERT_EQUAL(oci_run(&l.last_meta.run)->shim.exe_ino, 1234567);
	CU_ASSERT_EQUAL(l.last_meta.run.guest_userns, 4026532000ULL);
	CU_ASSERT(l.last_meta.run.workspace_idmapped);
	CU_ASSERT_EQUAL(l.last_meta.run.workspace_uid, 4242);
	CU_ASSERT_EQUAL(l.last_meta.run.workspace_gid, 4343);
	bf_store_close(&s);
	remove_dir();
}

static void test_no_temp_files_left(void)
{
	struct bf_store s;
	struct bf_error err = { 0 };
	struct dirent *de;
	DIR *d;
	int entries = 0;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(bf_store_open(dir, &s, &err), 0);
	CU_ASSERT_EQUAL(bf_store_save(&s, "demo", "x", 1, &meta, &err), 0);
	CU_ASSERT_EQUAL(bf_store_save(&s, "demo", "y", 1, &meta, &err), 0);
	d = opendir(bottles);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		entries++;
		CU_ASSERT_STRING_EQUAL(de->d_name, "demo.json");
	}
	closedir(d);
	CU_ASSERT_EQUAL(entries, 1);
	bf_store_close(&s);
	remove_dir();
}

static void test_corrupt_and_truncated_skipped(void)
{
	struct bf_store s;
	struct bf_error err = { 0 };
	struct loaded l;
	char path[256];
	FILE *f;
	long size;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(bf_store_open(dir, &s, &err), 0);
	CU_ASSERT_EQUAL(bf_store_save(&s, "good", "agent = \"a\"\n", 12, &meta, &err), 0);
	CU_ASSERT_EQUAL(bf_store_save(&s, "cut", "agent = \"a\"\n", 12, &meta, &err), 0);
	/* Truncate one record in the middle. */
	snprintf(path, sizeof(path), "%s/cut.json", bottles);
	f = fopen(path, "r+");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	CU_ASSERT_EQUAL(truncate(path, size / 2), 0);
	write_raw("garbage.json", "\x01\x02 not json");
	write_raw("wrongtype.json", "[1, 2, 3]");
	write_raw("noname.json", "{\"version\": 1}");
	write_raw("Bad Name.json", "{}");
	write_raw("stray.txt", "hello");
	l = load(&s);
	CU_ASSERT_EQUAL(l.records, 1);
	CU_ASSERT_STRING_EQUAL(l.last_name, "good");
	CU_ASSERT_EQUAL(l.problems, 6);
	bf_store_close(&s);
	remove_dir();
}

static void test_remove(void)
{
	struct bf_store s;
	struct bf_error err = { 0 };

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(bf_store_open(dir, &s, &err), 0);
	CU_ASSERT_EQUAL(bf_store_save(&s, "demo", "x", 1, &meta, &err), 0);
	CU_ASSERT_EQUAL(bf_store_remove(&s, "demo", &err), 0);
	CU_ASSERT_EQUAL(load(&s).records, 0);
	CU_ASSERT_EQUAL(bf_store_remove(&s, "demo", &err), 0);
	bf_store_close(&s);
	remove_dir();
}

static void test_unwritable_state_dir(void)
{
	struct bf_store s;
	struct bf_error err = { 0 };

	CU_ASSERT_TRUE(bf_store_open("/proc/version/x", &s, &err) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot create state dir"));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "roundtrip", test_roundtrip },
		{ "no temp files left", test_no_temp_files_left },
		{ "corrupt and truncated records skipped", test_corrupt_and_truncated_skipped },
		{ "remove", test_remove },
		{ "unwritable state dir", test_unwritable_state_dir },
		{ NULL, NULL },
	};

	return run_unit_tests("state_store", tests);
}
