/* The tar parser and the tar-to-initramfs conversion, on archives GNU
 * tar(1) makes (pax and GNU formats: long names, links, hard links),
 * read back by cpio(1) as the kernel would unpack them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../backend/microvm/vm_tar.h"
#include "../../backend/microvm/vm_tar_cpio.h"
#include "cunit_main.h"

static char tmp[] = "/tmp/test_vm_tar.XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

static void set_checksum(unsigned char *b)
{
	unsigned sum = 0;

	memset(b + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += b[i];
	snprintf((char *)b + 148, 8, "%06o", sum);
}

static void test_header_fields(void)
{
	unsigned char b[512] = { 0 };
	struct bf_tar_header h;

	strcpy((char *)b, "name.txt");
	strcpy((char *)b + 100, "0000644");
	strcpy((char *)b + 108, "0001750");
	strcpy((char *)b + 116, "0001750");
	strcpy((char *)b + 124, "00000000012");
	b[156] = '0';
	memcpy(b + 257, "ustar", 6);
	memcpy(b + 263, "00", 2);
	strcpy((char *)b + 345, "some/dir");
	set_checksum(b);
	CU_ASSERT_EQUAL_FATAL(bf_tar_header_parse(b, &h), 0);
	CU_ASSERT_STRING_EQUAL(h.name, "some/dir/name.txt");
	CU_ASSERT_EQUAL(h.mode, 0644);
	CU_ASSERT_EQUAL(h.uid, 1000);
	CU_ASSERT_EQUAL(h.size, 10);
	CU_ASSERT_EQUAL(h.type, '0');
	/* GNU base-256 sizes */
	memset(b + 124, 0, 12);
	b[124] = 0x80;
	b[131] = 0x01;          /* 2^32 */
	set_checksum(b);
	CU_ASSERT_EQUAL_FATAL(bf_tar_header_parse(b, &h), 0);
	CU_ASSERT_EQUAL(h.size, 1ULL << 32);
	b[124] = 0xff;          /* negative */
	set_checksum(b);
	CU_ASSERT_EQUAL(bf_tar_header_parse(b, &h), -EINVAL);
	/* a wrong checksum, a bad octal digit, the end block */
	strcpy((char *)b + 124, "00000000012");
	set_checksum(b);
	b[0] ^= 1;
	CU_ASSERT_EQUAL(bf_tar_header_parse(b, &h), -EINVAL);
	b[0] ^= 1;
	b[101] = '9';
	set_checksum(b);
	CU_ASSERT_EQUAL(bf_tar_header_parse(b, &h), -EINVAL);
	memset(b, 0, sizeof(b));
	CU_ASSERT_EQUAL(bf_tar_header_parse(b, &h), 1);
}

static void test_pax_and_names(void)
{
	struct bf_tar_header h = { .size = 5 };
	const char good[] = "30 path=a/very/long/name/here\n19 linkpath=target\n15 size=123456\n9 uid=42\n";
	char out[64];

	CU_ASSERT_EQUAL_FATAL(bf_tar_pax_apply(good, strlen(good), &h), 0);
	CU_ASSERT_STRING_EQUAL(h.name, "a/very/long/name/here");
	CU_ASSERT_STRING_EQUAL(h.link, "target");
	CU_ASSERT_EQUAL(h.size, 123456);
	CU_ASSERT_EQUAL(h.uid, 42);
	CU_ASSERT_EQUAL(bf_tar_pax_apply("99 path=x\n", 10, &h), -EINVAL);      /* runs past */
	CU_ASSERT_EQUAL(bf_tar_pax_apply("9 pathx\n", 8, &h), -EINVAL);         /* no '=' */
	CU_ASSERT_EQUAL(bf_tar_pax_apply("12 size=1x\n", 11, &h), -EINVAL);
	CU_ASSERT_EQUAL(bf_tar_pax_apply("x", 1, &h), -EINVAL);

	CU_ASSERT_EQUAL(bf_tar_clean_name("./etc/passwd", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "etc/passwd");
	CU_ASSERT_EQUAL(bf_tar_clean_name("/usr/bin/", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "usr/bin");
	CU_ASSERT_EQUAL(bf_tar_clean_name("./", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(bf_tar_clean_name("a/../../etc/shadow", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(bf_tar_clean_name("..", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(bf_tar_clean_name("a//b", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(bf_tar_clean_name("a/./b", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(bf_tar_padding(0), 0);
	CU_ASSERT_EQUAL(bf_tar_padding(1), 511);
	CU_ASSERT_EQUAL(bf_tar_padding(512), 0);
}

static bool skip_proc(const char *name)
{
	return strcmp(name, "proc") == 0;
}

static void convert(const char *format)
{
	char path[600], out[600], cmd[1600], target[64], longname[300];
	struct bf_tar_keep keep = { { "etc/passwd", "etc/group" }, { NULL, NULL }, { 0, 0 } };
	struct bf_error err = { 0 };
	struct bf_cpio c;
	struct stat st, st2;
	int tar, fd;
	ssize_t n;

	snprintf(cmd, sizeof(cmd), "rm -rf %s/tree %s/out", tmp, tmp);
	CU_ASSERT_EQUAL(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/tree", tmp);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/tree/etc", tmp);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/tree/etc/passwd", tmp);
	write_file(path, "root:x:0:0::/root:/bin/sh\n", 0644);
	snprintf(path, sizeof(path), "%s/tree/proc", tmp);
	mkdir(path, 0555);
	snprintf(path, sizeof(path), "%s/tree/proc/x", tmp);
	write_file(path, "skipped", 0644);
	/* a name longer than ustar's 100 + 155 bytes */
	memset(longname, 'n', 200);
	longname[200] = '\0';
	snprintf(path, sizeof(path), "%s/tree/%s", tmp, longname);
	write_file(path, "long\n", 0640);
	snprintf(path, sizeof(path), "%s/tree/tool", tmp);
	write_file(path, "#!/bin/sh\necho a tool\n", 04755);
	snprintf(out, sizeof(out), "%s/tree/hard", tmp);
	CU_ASSERT_EQUAL(link(path, out), 0);
	snprintf(path, sizeof(path), "%s/tree/sh", tmp);
	CU_ASSERT_EQUAL(symlink("/bin/busybox", path), 0);
	snprintf(path, sizeof(path), "%s/tree/fifo", tmp);
	CU_ASSERT_EQUAL(mkfifo(path, 0600), 0);

	snprintf(cmd, sizeof(cmd), "tar --format=%s -C %s/tree -cf %s/a.tar .", format, tmp, tmp);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/a.tar", tmp);
	tar = open(path, O_RDONLY);
	CU_ASSERT_FATAL(tar >= 0);
	snprintf(path, sizeof(path), "%s/a.cpio", tmp);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	bf_cpio_init(&c, fd);
	CU_ASSERT_EQUAL(bf_vm_tar_to_cpio(tar, &c, skip_proc, &keep, &err), 0);
	CU_ASSERT_EQUAL(bf_cpio_finish(&c, &err), 0);
	close(fd);
	close(tar);
	CU_ASSERT_PTR_NOT_NULL_FATAL(keep.data[0]);
	CU_ASSERT_STRING_EQUAL(keep.data[0], "root:x:0:0::/root:/bin/sh\n");
	CU_ASSERT_PTR_NULL(keep.data[1]);
	free(keep.data[0]);

	snprintf(out, sizeof(out), "%s/out", tmp);
	mkdir(out, 0755);
	snprintf(cmd, sizeof(cmd), "cd %s && cpio -i --quiet -d --no-absolute-filenames < %s", out, path);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "cmp -s %s/tree/tool %s/out/tool && cmp -s %s/tree/tool %s/out/hard && cmp -s %s/tree/%s %s/out/%s",
		 tmp, tmp, tmp, tmp, tmp, longname, tmp, longname);
	CU_ASSERT_EQUAL(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/out/tool", tmp);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 04755);
	snprintf(path, sizeof(path), "%s/out/%s", tmp, longname);
	CU_ASSERT_EQUAL(stat(path, &st2), 0);
	CU_ASSERT_EQUAL(st2.st_mode & 07777, 0640);
	snprintf(path, sizeof(path), "%s/out/sh", tmp);
	n = readlink(path, target, sizeof(target) - 1);
	CU_ASSERT_EQUAL(n, 12);
	CU_ASSERT_EQUAL(strncmp(target, "/bin/busybox", 12), 0);
	snprintf(path, sizeof(path), "%s/out/fifo", tmp);
	CU_ASSERT_NOT_EQUAL(lstat(path, &st), 0);       /* special files are left out */
	snprintf(path, sizeof(path), "%s/out/proc", tmp);
	CU_ASSERT_NOT_EQUAL(lstat(path, &st), 0);       /* skipped, with what is in it */
}

static void test_gnu_tar_roundtrip(void)
{
	CU_ASSERT_FATAL(mkdtemp(tmp) != NULL);
	convert("pax");
	convert("gnu");
}

/* An archive whose member climbs out, or that is cut short, is refused. */
static void test_hostile_archives(void)
{
	char path[600], cmd[1600];
	struct bf_error err = { 0 };
	struct bf_cpio c;
	int tar, fd;

	snprintf(path, sizeof(path), "%s/evil", tmp);
	write_file(path, "x", 0644);
	snprintf(cmd, sizeof(cmd), "cd %s && tar --format=pax -cf evil.tar --transform='s,^evil,a/../../evil,' evil 2>/dev/null && head -c 700 evil.tar > cut.tar",
		 tmp);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/b.cpio", tmp);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(path, sizeof(path), "%s/evil.tar", tmp);
	tar = open(path, O_RDONLY);
	CU_ASSERT_FATAL(tar >= 0);
	bf_cpio_init(&c, fd);
	CU_ASSERT_EQUAL(bf_vm_tar_to_cpio(tar, &c, NULL, NULL, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a relative path inside the image"));
	close(tar);
	snprintf(path, sizeof(path), "%s/cut.tar", tmp);
	tar = open(path, O_RDONLY);
	CU_ASSERT_FATAL(tar >= 0);
	CU_ASSERT_NOT_EQUAL(bf_vm_tar_to_cpio(tar, &c, NULL, NULL, &err), 0);
	close(tar);
	close(fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "header fields, base-256, checksum, end", test_header_fields },
		{ "pax records and member names", test_pax_and_names },
		{ "GNU tar's pax and gnu archives read back by cpio(1)", test_gnu_tar_roundtrip },
		{ "hostile archives are refused", test_hostile_archives },
		{ NULL, NULL },
	};

	return run_unit_tests("vm_tar", tests);
}
