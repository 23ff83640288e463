#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Newlines would split one error across lines of the `errors` file. */
static void flatten_newlines(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

int bf_error_set(struct bf_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;

		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		flatten_newlines(err->msg);
	}
	return -code;
}

