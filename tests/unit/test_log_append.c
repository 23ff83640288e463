/* Logs a guest can make grow: rotated past their bound, never beyond two
 * files' worth, a link in the file's place not followed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../backend/log_append.h"
#include "cunit_main.h"

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_rotation(void)
{
	char dir[] = "/tmp/bf-logappend.XXXXXX", path[64], old[80], line[100];
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(bf_log_append(path, 1000, line), 0);
	/* Each line is a stamp, a space, 99 bytes and a newline: 121. */
	CU_ASSERT(size_of(path) > 0 && size_of(path) <= 1000);
	CU_ASSERT(size_of(old) > 0 && size_of(old) <= 1000);
	CU_ASSERT_EQUAL(size_of(path) % 121, 0);
	unlink(path);
	unlink(old);
	/* A link put in its place is not written through. */
	CU_ASSERT_EQUAL(symlink("/etc/passwd", path), 0);
	CU_ASSERT_EQUAL(bf_log_append(path, 1000, "hostile"), -ELOOP);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "rotation", test_rotation },
		{ NULL, NULL },
	};

	return run_unit_tests("log_append", tests);
}
