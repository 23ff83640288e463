/* Writing a whole buffer to a socket whose peer may vanish (the proxy's
 * and supervise's clients): no SIGPIPE, EINTR retried. */
#ifndef BOTTLEFS_SEND_ALL_H
#define BOTTLEFS_SEND_ALL_H

#include <stddef.h>

/* 0, or -1 once the peer is gone or the socket failed. */
int bf_send_all(int fd, const char *p, size_t len);

/* Before closing a connection whose request was not read to its end (a
 * refusal): says end-of-data, then reads and drops what the peer still
 * sends for up to a second, so that the close does not reset the
 * connection and lose the answer on its way (a "lingering close"). */
void bf_linger_before_close(int fd);

#endif
