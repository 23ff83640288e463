#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../backend/subnet.h"
#include "cunit_main.h"

static void test_stable_and_in_range(void)
{
	char name[16];
	int i;

	for (i = 0; i < 2000; i++) {
		unsigned o;

		snprintf(name, sizeof(name), "b%d", i);
		o = bf_subnet_preferred_octet(name);
		CU_ASSERT_TRUE(o >= 1 && o <= 254);
		CU_ASSERT_NOT_EQUAL(o, BF_SUBNET_SKIP);
		CU_ASSERT_EQUAL(o, bf_subnet_preferred_octet(name));
	}
}

/* FNV-1a-32 of "demo" is 0xaefd3536; 1 + 2935829814 mod 254 = 25. */
static void test_known_value(void)
{
	CU_ASSERT_EQUAL(bf_subnet_preferred_octet("demo"), 25);
}

static void test_addresses(void)
{
	struct bf_subnet s;

	CU_ASSERT_EQUAL(bf_subnet_from_octet(42, &s), 0);
	CU_ASSERT_STRING_EQUAL(s.cidr, "192.168.42.0/24");
	CU_ASSERT_STRING_EQUAL(s.gateway, "192.168.42.1");
	CU_ASSERT_STRING_EQUAL(s.proxy, "192.168.42.2");
	CU_ASSERT_EQUAL(bf_subnet_from_octet(17, &s), -EINVAL);
	CU_ASSERT_EQUAL(bf_subnet_from_octet(0, &s), -EINVAL);
	CU_ASSERT_EQUAL(bf_subnet_from_octet(255, &s), -EINVAL);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "stable and in range", test_stable_and_in_range },
		{ "known value", test_known_value },
		{ "addresses", test_addresses },
		{ NULL, NULL },
	};

	return run_unit_tests("subnet", tests);
}
