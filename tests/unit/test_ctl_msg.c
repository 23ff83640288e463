/* Control messages: words, the table, argument bounds, signals. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "../../backend/ctl_msg.h"
#include "cunit_main.h"

static const struct bf_ctl_cmd table[] = { { "start", 0, 0 }, { "kill", 0, 1 } };

static int parse(const char *text, struct bf_ctl_msg *m, struct bf_error *err)
{
	return bf_ctl_parse(text, strlen(text), table, 2, "start, kill [SIGNAL]", m, err);
}

static void test_parse(void)
{
	struct bf_ctl_msg m;
	struct bf_error err = { 0 };

	CU_ASSERT_EQUAL(parse("start\n", &m, &err), 0);
	CU_ASSERT_EQUAL(m.cmd, 0);
	CU_ASSERT_EQUAL(m.argc, 1);
	CU_ASSERT_EQUAL(parse("  kill\tTERM \n", &m, &err), 0);
	CU_ASSERT_EQUAL(m.cmd, 1);
	CU_ASSERT_EQUAL(m.argc, 2);
	CU_ASSERT_STRING_EQUAL(m.words[1], "TERM");
	CU_ASSERT_EQUAL(parse("fly", &m, &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err.msg, "unknown control message \"fly\" (start, kill [SIGNAL])");
	CU_ASSERT_EQUAL(parse("start now", &m, &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err.msg, "bad # args to \"start\"");
	CU_ASSERT_EQUAL(parse("kill 1 2 3 4 5", &m, &err), -EINVAL);
	CU_ASSERT_EQUAL(parse(" \n", &m, &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err.msg, "empty control message");
	CU_ASSERT_EQUAL(bf_ctl_parse("kill\0x", 6, table, 2, "", &m, &err), -EINVAL);
	{
		char big[300];

		memset(big, 'a', sizeof(big));
		CU_ASSERT_EQUAL(bf_ctl_parse(big, sizeof(big), table, 2, "", &m, &err), -EINVAL);
	}
}

static void test_signals(void)
{
	CU_ASSERT_EQUAL(bf_signal_parse("TERM"), SIGTERM);
	CU_ASSERT_EQUAL(bf_signal_parse("sigkill"), SIGKILL);
	CU_ASSERT_EQUAL(bf_signal_parse("15"), 15);
	CU_ASSERT_EQUAL(bf_signal_parse("0"), -1);
	CU_ASSERT_EQUAL(bf_signal_parse("99"), -1);
	CU_ASSERT_EQUAL(bf_signal_parse("NOPE"), -1);
	CU_ASSERT_EQUAL(bf_signal_parse(""), -1);
}

static void test_term_sizes(void)
{
	unsigned cols = 0, rows = 0;

	CU_ASSERT_EQUAL(bf_term_size_parse("120x40", &cols, &rows), 0);
	CU_ASSERT_EQUAL(cols, 120);
	CU_ASSERT_EQUAL(rows, 40);
	CU_ASSERT_EQUAL(bf_term_size_parse("1x9999", &cols, &rows), 0);
	CU_ASSERT_EQUAL(rows, 9999);
	CU_ASSERT_EQUAL(bf_term_size_parse("0x40", &cols, &rows), -EINVAL);
	CU_ASSERT_EQUAL(bf_term_size_parse("120x0", &cols, &rows), -EINVAL);
	CU_ASSERT_EQUAL(bf_term_size_parse("10000x40", &cols, &rows), -EINVAL);
	CU_ASSERT_EQUAL(bf_term_size_parse("0000120x40", &cols, &rows), -EINVAL);
	CU_ASSERT_EQUAL(bf_term_size_parse("-1x40", &cols, &rows), -EINVAL);
	CU_ASSERT_EQUAL(bf_term_size_parse("120X40", &cols, &rows), -EINVAL);
	CU_ASSERT_EQUAL(bf_term_size_parse("120x40x2", &cols, &rows), -EINVAL);
	CU_ASSERT_EQUAL(bf_term_size_parse("120x", &cols, &rows), -EINVAL);
	CU_ASSERT_EQUAL(bf_term_size_parse("x40", &cols, &rows), -EINVAL);
	CU_ASSERT_EQUAL(bf_term_size_parse("", &cols, &rows), -EINVAL);
	/* A refused size leaves the last good one. */
	CU_ASSERT_EQUAL(cols, 1);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "parse", test_parse },
		{ "signals", test_signals },
		{ "term_sizes", test_term_sizes },
		{ NULL, NULL },
	};

	return run_unit_tests("ctl_msg", tests);
}
