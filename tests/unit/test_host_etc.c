/* The host's /etc as a host image shows it: what is left out, the hash
 * that says whether it changed, and the shared copies bottles link to. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../backend/copy_tree.h"
#include "../../backend/host_etc.h"
#include "../../backend/host_etc_template.h"
#include "cunit_main.h"

static char top[64];

/* Paths below are top's (short), so PATH_MAX holds them. */

static void put(const char *rel, const char *text, mode_t mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	unit_write_file(path, text, mode);
}

static void dir(const char *rel, mode_t mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	CU_ASSERT_EQUAL(mkdir(path, mode), 0);
	CU_ASSERT_EQUAL(chmod(path, mode), 0);
}

static bool there(const char *rel)
{
	char path[PATH_MAX + 64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	return lstat(path, &st) == 0;
}

static int count_copies(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/state/host-etc", top);
	d = opendir(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void target_of(const char *bottle, char *out, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/state/run/%s/" BF_HOST_ETC_LINK, top, bottle);
	n = readlink(path, out, len - 1);
	out[n < 0 ? 0 : n] = '\0';
}

static void setup(void)
{
	snprintf(top, sizeof(top), "/tmp/bottlefs-host-etc.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(top));
	dir("etc", 0755);
	dir("etc/ssh", 0755);
	dir("etc/closed", 0750);
	put("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644);
	put("etc/group", "root:x:0:\n", 0644);
	put("etc/hosts", "127.0.0.1 localhost\n", 0644);
	put("etc/shadow", "root:secret:::\n", 0600);
	put("etc/ssh/ssh_host_ed25519_key", "key\n", 0644);
	put("etc/ssh/ssh_config", "Host *\n", 0644);
	put("etc/mine.conf", "only root\n", 0600);
	put("etc/closed/inside", "x\n", 0644);
	{
		char link[PATH_MAX];

		snprintf(link, sizeof(link), "%s/etc/hosts.link", top);
		CU_ASSERT_EQUAL(symlink("hosts", link), 0);
	}
	dir("state", 0711);
	dir("state/run", 0711);
	dir("state/run/a", 0710);
	dir("state/run/b", 0710);
	dir("state/run/c", 0710);
	dir("state/run/d", 0710);
}

static void teardown(void)
{
	struct bf_error err = { 0 };

	bf_remove_tree(top, &err);
}

static void test_keep(void)
{
	struct stat file = { .st_mode = S_IFREG | 0644 }, closed = { .st_mode = S_IFREG | 0600 };
	struct stat open_dir = { .st_mode = S_IFDIR | 0755 }, shut_dir = { .st_mode = S_IFDIR | 0750 };
	struct stat link = { .st_mode = S_IFLNK | 0777 };

	CU_ASSERT_TRUE(bf_host_etc_keep("hosts", &file));
	CU_ASSERT_TRUE(bf_host_etc_keep("ssh/ssh_config", &file));
	CU_ASSERT_TRUE(bf_host_etc_keep("alternatives/x", &link));
	CU_ASSERT_TRUE(bf_host_etc_keep("ssl", &open_dir));
	CU_ASSERT_FALSE(bf_host_etc_keep("shadow", &file));
	CU_ASSERT_FALSE(bf_host_etc_keep("ssh/ssh_host_rsa_key", &file));
	CU_ASSERT_FALSE(bf_host_etc_keep("deep/in/some.key", &file));
	CU_ASSERT_FALSE(bf_host_etc_keep("resolv.conf", &file));
	CU_ASSERT_FALSE(bf_host_etc_keep("mine.conf", &closed));
	CU_ASSERT_FALSE(bf_host_etc_keep("closed", &shut_dir));
}

static void test_signature(void)
{
	char etc[PATH_MAX], path[PATH_MAX];
	uint64_t a = 0, b = 0;

	setup();
	snprintf(etc, sizeof(etc), "%s/etc", top);
	CU_ASSERT_EQUAL(bf_host_etc_signature(etc, &a), 0);
	CU_ASSERT_EQUAL(bf_host_etc_signature(etc, &b), 0);
	CU_ASSERT_EQUAL(a, b);
	/* What a copy leaves out does not count. */
	put("etc/shadow", "root:changed:::\n", 0600);
	put("etc/ssh/ssh_host_ed25519_key", "other key\n", 0644);
	CU_ASSERT_EQUAL(bf_host_etc_signature(etc, &b), 0);
	CU_ASSERT_EQUAL(a, b);
	/* What it holds does: a mode, an added name, a rewritten file. */
	snprintf(path, sizeof(path), "%s/etc/hosts", top);
	CU_ASSERT_EQUAL(chmod(path, 0640), 0);
	CU_ASSERT_EQUAL(bf_host_etc_signature(etc, &b), 0);
	CU_ASSERT_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(chmod(path, 0644), 0);
	CU_ASSERT_EQUAL(bf_host_etc_signature(etc, &a), 0);
	put("etc/ssh/added", "x\n", 0644);
	CU_ASSERT_EQUAL(bf_host_etc_signature(etc, &b), 0);
	CU_ASSERT_NOT_EQUAL(a, b);
	put("etc/ssh/added", "rewritten\n", 0644);
	CU_ASSERT_EQUAL(bf_host_etc_signature(etc, &a), 0);
	CU_ASSERT_NOT_EQUAL(a, b);
	snprintf(path, sizeof(path), "%s/nowhere", top);
	CU_ASSERT_EQUAL(bf_host_etc_signature(path, &a), -ENOENT);
	teardown();
}

static void test_link_share_and_remove(void)
{
	char etc[PATH_MAX], state[PATH_MAX], run[PATH_MAX], first[PATH_MAX], other[PATH_MAX], rel[PATH_MAX];
	struct bf_error err = { 0 };

	setup();
	snprintf(etc, sizeof(etc), "%s/etc", top);
	snprintf(state, sizeof(state), "%s/state", top);
	snprintf(run, sizeof(run), "%s/state/run/a", top);
	CU_ASSERT_EQUAL_FATAL(bf_host_etc_link(state, etc, run, &err), 0);
	target_of("a", first, sizeof(first));
	CU_ASSERT_EQUAL(strncmp(first, "../../host-etc/", 15), 0);
	CU_ASSERT_TRUE(there("state/run/a/host-etc/hosts"));
	CU_ASSERT_TRUE(there("state/run/a/host-etc/hosts.link"));
	CU_ASSERT_TRUE(there("state/run/a/host-etc/passwd"));
	CU_ASSERT_TRUE(there("state/run/a/host-etc/ssh/ssh_config"));
	CU_ASSERT_FALSE(there("state/run/a/host-etc/shadow"));
	CU_ASSERT_FALSE(there("state/run/a/host-etc/ssh/ssh_host_ed25519_key"));
	CU_ASSERT_FALSE(there("state/run/a/host-etc/mine.conf"));
	CU_ASSERT_FALSE(there("state/run/a/host-etc/closed"));
	CU_ASSERT_FALSE(there("state/run/a/host-etc.tmp"));
	/* An unchanged /etc: the same copy, not another. */
	snprintf(run, sizeof(run), "%s/state/run/b", top);
	CU_ASSERT_EQUAL(bf_host_etc_link(state, etc, run, &err), 0);
	target_of("b", other, sizeof(other));
	CU_ASSERT_STRING_EQUAL(first, other);
	CU_ASSERT_EQUAL(count_copies(), 1);
	/* A changed one: a new copy for the next bottle; a and b keep theirs. */
	put("etc/added.conf", "new\n", 0644);
	snprintf(run, sizeof(run), "%s/state/run/c", top);
	CU_ASSERT_EQUAL(bf_host_etc_link(state, etc, run, &err), 0);
	target_of("c", other, sizeof(other));
	CU_ASSERT_STRING_NOT_EQUAL(first, other);
	CU_ASSERT_TRUE(there("state/run/c/host-etc/added.conf"));
	CU_ASSERT_FALSE(there("state/run/a/host-etc/added.conf"));
	CU_ASSERT_EQUAL(count_copies(), 2);
	/* a and b gone: their copy goes when the next one is made, c's stays. */
	snprintf(run, sizeof(run), "%s/state/run/a/host-etc", top);
	unlink(run);
	snprintf(run, sizeof(run), "%s/state/run/b/host-etc", top);
	unlink(run);
	dir("state/host-etc/0123456789abcdef.tmp", 0755);    /* a crash while making one */
	put("etc/added.conf", "changed again\n", 0644);
	snprintf(run, sizeof(run), "%s/state/run/d", top);
	CU_ASSERT_EQUAL(bf_host_etc_link(state, etc, run, &err), 0);
	CU_ASSERT_EQUAL(count_copies(), 2);
	CU_ASSERT_TRUE(there("state/run/c/host-etc/added.conf"));
	CU_ASSERT_TRUE(there("state/run/d/host-etc/added.conf"));
	CU_ASSERT_FALSE(there("state/host-etc/0123456789abcdef.tmp"));
	snprintf(rel, sizeof(rel), "state/host-etc/%s", first + 15);
	CU_ASSERT_FALSE(there(rel));
	teardown();
}

/* A /etc without passwd or group still gives files to mount the
 * bottle's own over. */
static void test_copy_has_passwd_and_group(void)
{
	char etc[PATH_MAX], state[PATH_MAX], run[PATH_MAX], path[PATH_MAX];
	struct bf_error err = { 0 };
	struct stat st;

	setup();
	snprintf(path, sizeof(path), "%s/etc/passwd", top);
	unlink(path);
	snprintf(path, sizeof(path), "%s/etc/group", top);
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	snprintf(etc, sizeof(etc), "%s/etc", top);
	snprintf(state, sizeof(state), "%s/state", top);
	snprintf(run, sizeof(run), "%s/state/run/a", top);
	CU_ASSERT_EQUAL_FATAL(bf_host_etc_link(state, etc, run, &err), 0);
	snprintf(path, sizeof(path), "%s/state/run/a/host-etc/passwd", top);
	CU_ASSERT_TRUE(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
	snprintf(path, sizeof(path), "%s/state/run/a/host-etc/group", top);
	CU_ASSERT_TRUE(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
	/* An /etc that cannot be read: an error, no link. */
	snprintf(path, sizeof(path), "%s/missing", top);
	snprintf(run, sizeof(run), "%s/state/run/b", top);
	CU_ASSERT_EQUAL(bf_host_etc_link(state, path, run, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing"));
	CU_ASSERT_FALSE(there("state/run/b/host-etc"));
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "keep filter", test_keep },
		{ "signature", test_signature },
		{ "link, share, remove", test_link_share_and_remove },
		{ "passwd and group always", test_copy_has_passwd_and_group },
		{ NULL, NULL },
	};

	return run_unit_tests("host_etc", tests);
}
