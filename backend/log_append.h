/* One line appended to a log the guest can make grow (git/log,
 * requests.log): past `max` bytes the file becomes FILE.1 and a new one
 * begins, so that at most twice `max` is ever kept, as for NAME/log. */
#ifndef BOTTLEFS_LOG_APPEND_H
#define BOTTLEFS_LOG_APPEND_H

#include <stddef.h>
#include <sys/types.h>

#define BF_LOG_APPEND_MAX (1024 * 1024)

/* "TIMESTAMP " is put before `line`, a newline after. 0 or -errno. */
int bf_log_append(const char *path, off_t max, const char *line);

#endif
