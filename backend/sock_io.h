/* The sidecars' socket I/O (the egress proxy, git-gate, supervise): whole
 * writes to a peer that may vanish, whole reads with a deadline between
 * bytes, an HTTP head read with a deadline, whether the peer is still
 * there, and a close that does not lose a refusal on its way. */
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

/* Reads until the end of an HTTP head: `*len` holds the bytes buf already
 * has on entry and all bytes read on return, `*head_len` where the head
 * ends (the rest belongs to the body), within `wait_ms` in all. While it
 * waits, a hang-up of `watch` (-1: none) ends the wait. With no `watch`
 * the head is read before any poll (a client's has usually come with its
 * connection); with one, waited for first (an answer has not). 0,
 * -ETIMEDOUT, -E2BIG past `cap`, -ECONNRESET, or -ECONNABORTED. */
int bf_recv_head(int fd, char *buf, size_t cap, size_t *len, size_t *head_len, int wait_ms,
		 int watch);

/* False once the peer has hung up or shut down its side (a waiter's
 * still_wanted: see waitq.h). `ctx` points to the socket. */
bool bf_peer_still_there(void *ctx);

/* Before closing a connection whose request was not read to its end (a
 * refusal): says end-of-data, then reads and drops what the peer still
 * sends for up to a second, so that the close does not reset the
 * connection and lose the answer on its way (a "lingering close"). */
void bf_linger_before_close(int fd);

#endif
