/* The guest user a manifest names: found in passwd, added with the first
 * free id from 1000, refused where /etc is the image's own; and starts
 * that resolve users in parallel do not see each other's ids. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backend/guest_user.h"
#include "cunit_main.h"

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unit_write_file(path, text, 0644);
}

static char *read_file(const char *dir, const char *name)
{
	static char text[8192];
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void make_etc(char *dir, size_t len, const char *passwd)
{
	snprintf(dir, len, "/tmp/bottlefs-guest-user.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	write_file(dir, "passwd", passwd);
	write_file(dir, "group", "root:x:0:\n");
}

static void remove_etc(const char *dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/passwd", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/group", dir);
	unlink(path);
	rmdir(dir);
}

static int resolve(const char *name, const char *dir, bool writable, struct bf_guest_user *u)
{
	struct bf_manifest m = { 0 };
	struct bf_error err = { 0 };

	m.user = (char *)name;
	memset(u, 0, sizeof(*u));
	return bf_guest_user_resolve(&m, dir, writable, u, &err);
}

static void test_found_added_refused(void)
{
	char dir[64];
	struct bf_guest_user u;

	make_etc(dir, sizeof(dir), "root:x:0:0::/root:/bin/sh\nme:x:1000:1000::/home/me:/bin/sh\n"
				   "you:x:1001:1002::/home/you:/bin/sh\n");
	CU_ASSERT_EQUAL(resolve("you", dir, false, &u), 0);
	CU_ASSERT_EQUAL(u.uid, 1001);
	CU_ASSERT_EQUAL(u.gid, 1002);
	CU_ASSERT_EQUAL(resolve("root", dir, false, &u), 0);
	CU_ASSERT_EQUAL(u.uid, 0);
	CU_ASSERT_EQUAL(resolve("4242", dir, false, &u), 0);
	CU_ASSERT_EQUAL(u.uid, 4242);
	CU_ASSERT_EQUAL(u.gid, 4242);
	/* The image's own /etc is not ours to add to. */
	CU_ASSERT_EQUAL(resolve("agent", dir, false, &u), -EINVAL);
	CU_ASSERT_PTR_NULL(strstr(read_file(dir, "passwd"), "agent:"));
	/* Our copy: the first id from 1000 no line holds. */
	CU_ASSERT_EQUAL(resolve("agent", dir, true, &u), 0);
	CU_ASSERT_EQUAL(u.uid, 1002);
	CU_ASSERT_EQUAL(u.gid, 1002);
	CU_ASSERT_PTR_NOT_NULL(strstr(read_file(dir, "passwd"),
				      "\nagent:x:1002:1002:bottlefs guest:/home/agent:/bin/sh\n"));
	CU_ASSERT_STRING_EQUAL(read_file(dir, "group"), "root:x:0:\nagent:x:1002:\n");
	/* Found the next time, not added twice. */
	CU_ASSERT_EQUAL(resolve("agent", dir, true, &u), 0);
	CU_ASSERT_EQUAL(u.uid, 1002);
	CU_ASSERT_STRING_EQUAL(read_file(dir, "group"), "root:x:0:\nagent:x:1002:\n");
	remove_etc(dir);
}

/* Two starts at once: one /etc whose ids 1000..1099 are taken, one with
 * none taken. Each must get the id its own passwd leaves free. */
struct racer {
	const char *taken_text;
	uid_t expect;
	int wrong;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct bf_guest_user u;
	char dir[64];
	int i;

	for (i = 0; i < 1000; i++) {
		make_etc(dir, sizeof(dir), r->taken_text);
		if (resolve("agent", dir, true, &u) != 0 || u.uid != r->expect)
			r->wrong++;
		remove_etc(dir);
	}
	return NULL;
}

static void test_parallel_starts(void)
{
	static char crowded[100 * 64];
	struct racer a = { crowded, 1100, 0 }, b = { "root:x:0:0::/root:/bin/sh\n", 1000, 0 };
	pthread_t ta, tb;
	size_t len = 0;
	int i;

	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(crowded + len, sizeof(crowded) - len, "u%d:x:%d:%d::/:/bin/sh\n",
					i, 1000 + i, 1000 + i);
	CU_ASSERT_FATAL(pthread_create(&ta, NULL, race, &a) == 0);
	CU_ASSERT_FATAL(pthread_create(&tb, NULL, race, &b) == 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CU_ASSERT_EQUAL(a.wrong, 0);
	CU_ASSERT_EQUAL(b.wrong, 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "found, added, refused", test_found_added_refused },
		{ "parallel starts", test_parallel_starts },
		{ NULL, NULL },
	};

	return run_unit_tests("guest_user", tests);
}
