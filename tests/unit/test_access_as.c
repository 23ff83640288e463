#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../backend/access_as.h"
#include "cunit_main.h"

#define NOBODY 65534

static char base[64];

static void path_in(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", base, rel);
}

/* Needs root: it makes files other users cannot reach. */
static void test_parents_count(void)
{
	struct bf_caller nobody = { .uid = NOBODY, .gid = NOBODY };
	struct bf_caller root = { .uid = 0, .gid = 0 };
	char locked[128], inner[128], open_dir[128];

	if (geteuid() != 0) {
		CU_PASS("not root: skipped");
		return;
	}
	path_in(locked, sizeof(locked), "locked");
	path_in(inner, sizeof(inner), "locked/inner");
	path_in(open_dir, sizeof(open_dir), "open");
	CU_ASSERT_EQUAL_FATAL(mkdir(locked, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(inner, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(open_dir, 0755), 0);
	/* inner is world-readable, but its parent is not searchable. */
	CU_ASSERT_EQUAL(bf_access_as(&nobody, inner, R_OK | X_OK), -EACCES);
	CU_ASSERT_EQUAL(bf_access_as(&nobody, open_dir, R_OK | X_OK), 0);
	CU_ASSERT_EQUAL(bf_access_as(&root, inner, R_OK | X_OK), 0);
	/* A supplementary group is enough when it owns the parent. */
	CU_ASSERT_EQUAL(chown(locked, 0, 4242), 0);
	CU_ASSERT_EQUAL(chmod(locked, 0750), 0);
	nobody.groups[0] = 4242;
	nobody.n_groups = 1;
	CU_ASSERT_EQUAL(bf_access_as(&nobody, inner, R_OK | X_OK), 0);
	/* And the daemon's own credentials are untouched. */
	CU_ASSERT_EQUAL(geteuid(), 0);
	CU_ASSERT_EQUAL(access(inner, R_OK), 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "parent directories and groups count", test_parents_count },
		{ NULL, NULL },
	};
	char cmd[128];
	int r;

	snprintf(base, sizeof(base), "/tmp/bottlefs-access-XXXXXX");
	if (!mkdtemp(base))
		return 2;
	chmod(base, 0755);
	r = run_unit_tests("access_as", tests);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		r = 1;
	return r;
}
