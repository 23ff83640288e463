/* Output files kept for reuse: handed back empty, only on their own
 * filesystem, a bounded number of them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../backend/spool_files.h"
#include "cunit_main.h"

static ino_t ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static void test_reuse_is_empty(void)
{
	char dir[] = "/tmp/bf-spool.XXXXXX", buf[16];
	struct bf_error err = { 0 };
	int fd, again;
	ino_t ino;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	fd = bf_spool_file_get(dir, &err);
	CU_ASSERT_FATAL(fd >= 0);
	ino = ino_of(fd);
	CU_ASSERT_EQUAL(pwrite(fd, "another bottle's", 16, 4096), 16);
	bf_spool_file_put(fd);
	again = bf_spool_file_get(dir, &err);
	CU_ASSERT_FATAL(again >= 0);
	CU_ASSERT_EQUAL(ino_of(again), ino);           /* kept, not made anew */
	CU_ASSERT_EQUAL(pread(again, buf, sizeof(buf), 4096), 0);
	CU_ASSERT_EQUAL(lseek(again, 0, SEEK_END), 0);
	bf_spool_file_put(again);
	bf_spool_files_drop();
	CU_ASSERT_EQUAL(rmdir(dir), 0);                 /* nothing of ours is linked in it */
}

static void test_bounded(void)
{
	char dir[] = "/tmp/bf-spool.XXXXXX";
	struct bf_error err = { 0 };
	int fds[20], held[20], i, reused = 0, j;
	ino_t inos[20];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	for (i = 0; i < 20; i++) {
		fds[i] = bf_spool_file_get(dir, &err);
		CU_ASSERT_FATAL(fds[i] >= 0);
		inos[i] = ino_of(fds[i]);
		/* Held open here too, so that no new file can take the inode
		 * number of one the pool closed. */
		held[i] = dup(fds[i]);
	}
	for (i = 0; i < 20; i++)
		bf_spool_file_put(fds[i]);
	/* 16 are kept; the other 4 were closed, and the next gets after
	 * those 16 make new files. */
	for (i = 0; i < 20; i++) {
		fds[i] = bf_spool_file_get(dir, &err);
		CU_ASSERT_FATAL(fds[i] >= 0);
		for (j = 0; j < 20; j++)
			if (ino_of(fds[i]) == inos[j])
				reused++;
	}
	CU_ASSERT_EQUAL(reused, 16);
	for (i = 0; i < 20; i++) {
		close(fds[i]);
		close(held[i]);
	}
	bf_spool_files_drop();
	rmdir(dir);
}

static void test_own_filesystem(void)
{
	char dir[] = "/tmp/bf-spool.XXXXXX";
	struct bf_error err = { 0 };
	struct stat shm, tmp, got;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_FATAL(stat("/dev/shm", &shm) == 0 && stat(dir, &tmp) == 0);
	fd = bf_spool_file_get("/dev/shm", &err);
	CU_ASSERT_FATAL(fd >= 0);
	bf_spool_file_put(fd);
	fd = bf_spool_file_get(dir, &err);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(fstat(fd, &got), 0);
	CU_ASSERT_EQUAL(got.st_dev, tmp.st_dev);
	close(fd);
	bf_spool_files_drop();
	rmdir(dir);
}

static void test_missing_dir(void)
{
	struct bf_error err = { 0 };

	CU_ASSERT_EQUAL(bf_spool_file_get("/nonexistent/bf-spool", &err), -ENOENT);
	CU_ASSERT_EQUAL(err.code, ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/bf-spool"));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "a kept file comes back empty", test_reuse_is_empty },
		{ "at most 16 are kept", test_bounded },
		{ "a file is given only for its own filesystem", test_own_filesystem },
		{ "a missing directory is an error with its name", test_missing_dir },
		{ NULL, NULL },
	};

	return run_unit_tests("spool_files", tests);
}
