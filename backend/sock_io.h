/* The sidecars' socket I/O (the egress proxy, git-gate, supervise): whole
 * writes to a peer that may vanish, whole reads with a deadline between
 * bytes, whether the peer is still there, and a close that does not lose
 * a refusal on its way. */
#ifndef BOTTLEFS_SOCK_IO_H
#define BOTTLEFS_SOCK_IO_H

#include <stdbool.h>
#include <stddef.h>

/* All of p[0..len): no SIGPIPE, EINTR retried. 0, or -1 once the peer is
 * gone or the socket failed. */
int bf_send_all(int fd, const char *p, size_t len);

/* Exactly `len` bytes, waiting at most `wait_ms` for each piece. 0,
 * -ETIMEDOUT, or -ECONNRESET when the peer ended first or the read
 * failed. */
int bf_recv_all(int fd, char *buf, size_t len, int wait_ms);

/* False once the peer has hung up or shut down its side (a waiter's
 * still_wanted: see waitq.h). `ctx` points to the socket. */
bool bf_peer_still_there(void *ctx);

/* Before closing a connection whose request was not read to its end (a
 * refusal): says end-of-data, then reads and drops what the peer still
 * sends for up to a second, so that the close does not reset the
 * connection and lose the answer on its way (a "lingering close"). */
void bf_linger_before_close(int fd);

#endif
