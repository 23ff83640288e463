/* Error out-parameter for fallible functions (after crun's libcrun_error_t):
 * an errno to hand back through FUSE plus a readable reason for `errors`. */
#ifndef BOTTLEFS_ERROR_H
#define BOTTLEFS_ERROR_H

#include <stddef.h>

#define BF_ERROR_MSG_MAX 512

struct bf_error {
	int code;                    /* positive errno, 0 = no error */
	char msg[BF_ERROR_MSG_MAX];  /* one line, no trailing newline */
};

/* Sets err (if not NULL) and returns -code, so callers can write
 * `return bf_error_set(err, EINVAL, "bad %s", x);`. */
int bf_error_set(struct bf_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
