/* The initramfs writer, read back by cpio(1) as the kernel would unpack it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../backend/microvm/vm_cpio.h"
#include "cunit_main.h"

static char tmp[] = "/tmp/test_vm_cpio.XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

static bool skip_secret(const char *name)
{
	return strcmp(name, "secret") == 0;
}

static void test_tree_roundtrip(void)
{
	char path[512], out[512], cmd[1200], link[64];
	struct bf_error err = { 0 };
	struct bf_cpio c;
	struct stat st;
	ssize_t n;
	int fd;

	CU_ASSERT_FATAL(mkdtemp(tmp) != NULL);
	snprintf(path, sizeof(path), "%s/tree", tmp);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/tree/bin", tmp);
	mkdir(path, 0751);
	snprintf(path, sizeof(path), "%s/tree/bin/tool", tmp);
	write_file(path, "#!/bin/sh\necho odd-sized\n", 04755);
	snprintf(path, sizeof(path), "%s/tree/bin/sh", tmp);
	CU_ASSERT_EQUAL(symlink("busybox", path), 0);
	snprintf(path, sizeof(path), "%s/tree/fifo", tmp);
	CU_ASSERT_EQUAL(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/tree/secret", tmp);
	write_file(path, "no", 0600);

	snprintf(path, sizeof(path), "%s/a.cpio", tmp);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	bf_cpio_init(&c, fd);
	CU_ASSERT_EQUAL(bf_cpio_dir(&c, "etc", 0755, 0, 0, &err), 0);
	CU_ASSERT_EQUAL(bf_cpio_data(&c, "etc/hostname", 0644, 0, 0, "box\n", 4, &err), 0);
	snprintf(out, sizeof(out), "%s/tree", tmp);
	CU_ASSERT_EQUAL(bf_cpio_tree(&c, "", out, skip_secret, &err), 0);
	CU_ASSERT_EQUAL(bf_cpio_finish(&c, &err), 0);
	CU_ASSERT_EQUAL(c.off % 512, 0);
	close(fd);

	snprintf(out, sizeof(out), "%s/out", tmp);
	mkdir(out, 0755);
	snprintf(cmd, sizeof(cmd), "cd %s && cpio -i --quiet -d --no-absolute-filenames < %s", out, path);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/out/etc/hostname", tmp);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 4);
	snprintf(path, sizeof(path), "%s/out/bin/tool", tmp);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 25);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 04755);
	snprintf(path, sizeof(path), "%s/out/bin", tmp);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0751);
	snprintf(path, sizeof(path), "%s/out/bin/sh", tmp);
	n = readlink(path, link, sizeof(link) - 1);
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT_EQUAL(strncmp(link, "busybox", 7), 0);
	snprintf(path, sizeof(path), "%s/out/fifo", tmp);
	CU_ASSERT_NOT_EQUAL(lstat(path, &st), 0);       /* special files are left out */
	snprintf(path, sizeof(path), "%s/out/secret", tmp);
	CU_ASSERT_NOT_EQUAL(lstat(path, &st), 0);       /* skipped */
	snprintf(cmd, sizeof(cmd), "cmp -s %s/tree/bin/tool %s/out/bin/tool", tmp, tmp);
	CU_ASSERT_EQUAL(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "a tree and data read back by cpio(1)", test_tree_roundtrip },
		{ NULL, NULL },
	};

	return run_unit_tests("vm_cpio", tests);
}
