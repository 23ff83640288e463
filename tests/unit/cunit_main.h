/* Shared main() for the CUnit test programs: each defines `tests[]`. */
#ifndef BOTTLEFS_CUNIT_MAIN_H
#define BOTTLEFS_CUNIT_MAIN_H

#include <CUnit/Basic.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

/* Writes `text` to `path` (made or emptied) and gives it exactly `mode`. */
static inline void unit_write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	CU_ASSERT(chmod(path, mode) == 0);
}

static int run_unit_tests(const char *suite_name, const struct unit_test *tests)
{
	CU_pSuite suite;
	unsigned failures;
	size_t i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		return 2;
	for (i = 0; tests[i].name; i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].fn))
			return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}

#endif
