/* The `errors` file: the most recent rejections and failures, newest
 * last, one line each: "TIME NAME: reason". Bounded; the oldest go. */
#ifndef BOTTLEFS_ERRORS_LOG_H
#define BOTTLEFS_ERRORS_LOG_H

#include <pthread.h>

#include "buf.h"

#define BF_ERRORS_KEEP 256

struct bf_errors_log {
	pthread_mutex_t lock;
	char *lines[BF_ERRORS_KEEP];
	unsigned head;      /* index of the oldest line */
	unsigned count;
};

void bf_errors_log_init(struct bf_errors_log *log);
void bf_errors_log_destroy(struct bf_errors_log *log);
/* `who` is a bottle name, or "-" when none applies. */
void bf_errors_log_add(struct bf_errors_log *log, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int bf_errors_log_render(struct bf_errors_log *log, struct bf_buf *out);

#endif
