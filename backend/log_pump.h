/* The guest's output on its way into the bottle's `log`: read from a
 * pipe by a host process (the shim), never written by the guest itself.
 * Each line is stamped and marked "guest:", so nothing the guest prints
 * can pass for a line of bottlefs; control bytes (terminal escapes)
 * become '?'; the file is rotated to LOG.1 past its size cap. */
#ifndef BOTTLEFS_LOG_PUMP_H
#define BOTTLEFS_LOG_PUMP_H

#include <stddef.h>
#include <sys/types.h>

#define BF_LOG_MAX (1024 * 1024)
#define BF_LOG_LINE_MAX 4000

struct bf_log_pump {
	char path[4096];
	off_t max;
	int fd;
	char line[BF_LOG_LINE_MAX];
	size_t len;
};

/* Opens (appends to) `path`. 0 or -errno. */
int bf_log_pump_open(struct bf_log_pump *lp, const char *path, off_t max);
/* Takes bytes of the guest's output; writes every complete line (and a
 * partial one once it reaches BF_LOG_LINE_MAX). */
void bf_log_pump_feed(struct bf_log_pump *lp, const char *data, size_t n);
/* Writes what is left of a last line without its newline. */
void bf_log_pump_flush(struct bf_log_pump *lp);
void bf_log_pump_close(struct bf_log_pump *lp);

#endif
