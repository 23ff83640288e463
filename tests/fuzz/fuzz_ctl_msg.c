/* libFuzzer target for backend/ctl_msg.c (the ctl and exec ctl messages)
 * and backend/allowlist.c (allow rules): any bytes. A parsed message has
 * 1..4 words inside its own text, a known command within its argument
 * bounds, a terminal size within its bounds; a rule accepted once is accepted again. Violations abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"
#include "ctl_msg.h"

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			abort();        \
	} while (0)

static const struct bf_ctl_cmd table[] = {
	{ "start", 0, 0 }, { "stop", 0, 0 }, { "restart", 0, 0 }, { "kill", 0, 1 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bf_ctl_msg m;
	struct bf_error err = { 0 };
	char rule[512];

	if (bf_ctl_parse((const char *)data, size, table, 4, "usage", &m, &err) == 0) {
		CHECK(m.argc >= 1 && m.argc <= BF_CTL_MAX_WORDS && m.cmd < 4);
		CHECK(m.argc - 1 >= table[m.cmd].min_args && m.argc - 1 <= table[m.cmd].max_args);
		CHECK(strcmp(m.words[0], table[m.cmd].name) == 0);
		for (int i = 0; i < m.argc; i++) {
			CHECK(m.words[i] >= m.text && m.words[i] < m.text + sizeof(m.text));
			CHECK(m.words[i][0] && !strpbrk(m.words[i], " \t\n"));
		}
		if (m.argc == 2) {
			int sig = bf_signal_parse(m.words[1]);
			unsigned cols = 0, rows = 0;

			CHECK(sig == -1 || (sig > 0 && sig < 65));
			if (bf_term_size_parse(m.words[1], &cols, &rows) == 0)
				CHECK(cols >= 1 && cols <= BF_TERM_SIZE_MAX && rows >= 1 &&
				      rows <= BF_TERM_SIZE_MAX);
		}
	} else {
		CHECK(err.code && err.msg[0]);
	}
	if (size < sizeof(rule) && !memchr(data, '\0', size)) {
		struct bf_error e1 = { 0 }, e2 = { 0 };

		memcpy(rule, data, size);
		rule[size] = '\0';
		CHECK(bf_allow_rule_check(rule, &e1) == bf_allow_rule_check(rule, &e2));
	}
	return 0;
}
