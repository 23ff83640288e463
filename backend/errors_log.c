#include "errors_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quote.h"

void bf_errors_log_init(struct bf_errors_log *log)
{
	memset(log, 0, sizeof(*log));
	pthread_mutex_init(&log->lock, NULL);
}

void bf_errors_log_destroy(struct bf_errors_log *log)
{
	unsigned i;

	for (i = 0; i < BF_ERRORS_KEEP; i++)
		free(log->lines[i]);
	pthread_mutex_destroy(&log->lock);
}

void bf_errors_log_add(struct bf_errors_log *log, const char *who, const char *fmt, ...)
{
	struct bf_buf line = { 0 };
	char stamp[32], *msg = NULL;
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	bf_buf_printf(&line, "%s %s: ", stamp, who);
	/* Reasons may quote manifest bytes: keep each entry on one line. */
	bf_quote_env(&line, msg, strlen(msg));
	free(msg);
	if (bf_buf_finish(&line) < 0)
		return;
	pthread_mutex_lock(&log->lock);
	if (log->count == BF_ERRORS_KEEP) {
		free(log->lines[log->head]);
		log->lines[log->head] = line.data;
		log->head = (log->head + 1) % BF_ERRORS_KEEP;
	} else {
		log->lines[(log->head + log->count) % BF_ERRORS_KEEP] = line.data;
		log->count++;
	}
	pthread_mutex_unlock(&log->lock);
}

int bf_errors_log_render(struct bf_errors_log *log, struct bf_buf *out)
{
	unsigned i;

	pthread_mutex_lock(&log->lock);
	for (i = 0; i < log->count; i++) {
		bf_buf_puts(out, log->lines[(log->head + i) % BF_ERRORS_KEEP]);
		bf_buf_putc(out, '\n');
	}
	pthread_mutex_unlock(&log->lock);
	return bf_buf_finish(out);
}
