/* Copy and removal of trees: what a guest or a workspace owner can lay
 * out (deep trees, links, unreadable parts) never escapes or sticks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../backend/copy_tree.h"
#include "cunit_main.h"

static char base[64];

static void path_of(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", base, rel);
}

static void put(const char *rel, const char *text, mode_t mode)
{
	char p[256];

	path_of(p, sizeof(p), rel);
	unit_write_file(p, text, mode);
}

static bool exists(const char *rel)
{
	char p[256];
	struct stat st;

	path_of(p, sizeof(p), rel);
	return lstat(p, &st) == 0;
}

static void setup(void)
{
	strcpy(base, "/tmp/bottlefs-copy-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(base) != NULL);
	chmod(base, 0755);
}

static void teardown(void)
{
	CU_ASSERT_EQUAL(bf_remove_tree(base, NULL), 0);
	CU_ASSERT(!exists(""));
}

static void test_remove_deep_tree(void)
{
	char name[] = "a-directory-name-of-forty-characters-xx";
	int fd, i;

	setup();
	/* 200 levels of 40-byte names: a path of 8000 bytes, past PATH_MAX
	 * and far past any recursion limit, with a file at every level. */
	fd = open(base, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(fd >= 0);
	for (i = 0; i < 200; i++) {
		int sub, f;

		CU_ASSERT_FATAL(mkdirat(fd, name, 0700) == 0);
		f = openat(fd, "file", O_WRONLY | O_CREAT, 0600);
		close(f);
		CU_ASSERT_FATAL(symlinkat("/etc/passwd", fd, "link") == 0);
		sub = openat(fd, name, O_RDONLY | O_DIRECTORY);
		CU_ASSERT_FATAL(sub >= 0);
		close(fd);
		fd = sub;
	}
	close(fd);
	teardown();
	/* what the links pointed at is untouched */
	CU_ASSERT(access("/etc/passwd", F_OK) == 0);
}

static void test_copy_read_as(void)
{
	struct bf_caller nobody = { .uid = 65534, .gid = 65534 };
	struct bf_copy_opts opts = { .read_as = &nobody };
	struct bf_error err = { 0 };
	char src[256], dst[256];

	if (geteuid() != 0)
		return;     /* needs root to act as another user */
	setup();
	path_of(src, sizeof(src), "src");
	path_of(dst, sizeof(dst), "dst");
	CU_ASSERT_FATAL(mkdir(src, 0755) == 0);
	put("src/public", "p", 0644);
	put("src/secret", "s", 0600);
	path_of(src, sizeof(src), "src/private");
	CU_ASSERT_FATAL(mkdir(src, 0700) == 0);
	put("src/private/inner", "i", 0644);
	path_of(src, sizeof(src), "src/escape");
	CU_ASSERT_FATAL(symlink("/etc", src) == 0);
	path_of(src, sizeof(src), "src");
	CU_ASSERT_EQUAL(bf_copy_tree(src, dst, &opts, &err), 0);
	CU_ASSERT(exists("dst/public"));
	CU_ASSERT(!exists("dst/secret"));      /* nobody cannot read it */
	CU_ASSERT(!exists("dst/private"));     /* nor list this */
	CU_ASSERT(exists("dst/escape"));       /* a link, copied as a link */
	{
		char p[256];
		struct stat st;

		path_of(p, sizeof(p), "dst/escape");
		CU_ASSERT(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
	}
	teardown();
}

static void test_copy_refuses_symlinked_root(void)
{
	struct bf_copy_opts opts = { .no_symlinks = true };
	struct bf_error err = { 0 };
	char src[256], link[256], dst[256];

	setup();
	path_of(src, sizeof(src), "root-only");
	CU_ASSERT_FATAL(mkdir(src, 0700) == 0);
	put("root-only/secret", "s", 0600);
	path_of(link, sizeof(link), "workspace");
	CU_ASSERT_FATAL(symlink(src, link) == 0);
	path_of(dst, sizeof(dst), "dst");
	CU_ASSERT_EQUAL(bf_copy_tree(link, dst, &opts, &err), -ELOOP);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "may hold no symlink"));
	CU_ASSERT(!exists("dst/secret"));
	teardown();
}

/* A bind of the same file system inside the tree (how an idmapped bind
 * workspace sits in a bottle's storage) is never removed through. */
static void test_remove_stops_at_a_bind_mount(void)
{
	char src[256], dst[256];

	setup();
	CU_ASSERT_EQUAL_FATAL(mkdir(strcat(strcpy(src, base), "/project"), 0755), 0);
	put("project/precious", "keep me", 0644);
	CU_ASSERT_EQUAL_FATAL(mkdir(strcat(strcpy(dst, base), "/storage"), 0755), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(strcat(dst, "/workspace"), 0755), 0);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
		/* Not root: nothing to prove here. */
		teardown();
		return;
	}
	path_of(dst, sizeof(dst), "storage");
	CU_ASSERT_EQUAL(bf_remove_tree(dst, NULL), -EBUSY);
	CU_ASSERT(exists("project/precious"));
	path_of(dst, sizeof(dst), "storage/workspace");
	CU_ASSERT_EQUAL(umount(dst), 0);
	teardown();
}

/* One file by directory fds: content and mode kept; a link, a
 * directory, a missing name or an existing target refused. */
static void test_copy_file_at(void)
{
	char p[256], q[256];
	struct stat st;
	int from, to;

	setup();
	CU_ASSERT_EQUAL(mkdir(strcat(strcpy(p, base), "/from"), 0755), 0);
	CU_ASSERT_EQUAL(mkdir(strcat(strcpy(q, base), "/to"), 0755), 0);
	put("from/passwd", "root:x:0:0::/root:/bin/sh\n", 0640);
	path_of(p, sizeof(p), "from/link");
	CU_ASSERT_EQUAL(symlink("passwd", p), 0);
	path_of(p, sizeof(p), "from/sub");
	CU_ASSERT_EQUAL(mkdir(p, 0755), 0);
	path_of(p, sizeof(p), "from");
	path_of(q, sizeof(q), "to");
	from = open(p, O_RDONLY | O_DIRECTORY);
	to = open(q, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(from >= 0 && to >= 0);
	CU_ASSERT_EQUAL(bf_copy_file_at(from, to, "passwd"), 0);
	path_of(q, sizeof(q), "to/passwd");
	CU_ASSERT_TRUE(stat(q, &st) == 0 && (st.st_mode & 07777) == 0640 && st.st_size == 26);
	CU_ASSERT_EQUAL(bf_copy_file_at(from, to, "passwd"), -EEXIST);
	CU_ASSERT_EQUAL(bf_copy_file_at(from, to, "link"), -EINVAL);
	CU_ASSERT_EQUAL(bf_copy_file_at(from, to, "sub"), -EINVAL);
	CU_ASSERT_EQUAL(bf_copy_file_at(from, to, "missing"), -ENOENT);
	CU_ASSERT_FALSE(exists("to/link"));
	close(from);
	close(to);
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "remove a deep tree", test_remove_deep_tree },
		{ "copy as a reader", test_copy_read_as },
		{ "copy refuses a symlinked root", test_copy_refuses_symlinked_root },
		{ "removal stops at a bind mount", test_remove_stops_at_a_bind_mount },
		{ "one file by directory fds", test_copy_file_at },
		{ NULL, NULL },
	};

	return run_unit_tests("copy_tree", tests);
}
