#include "sock_io.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "http_head.h"

int bf_send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int bf_recv_all(int fd, char *buf, size_t len, int wait_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, wait_ms) <= 0)
			return -ETIMEDOUT;
		n = recv(fd, buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -ECONNRESET;
		got += (size_t)n;
	}
	return 0;
}

bool bf_peer_still_there(void *ctx)
{
	struct pollfd p = { *(int *)ctx, POLLRDHUP, 0 };

	return poll(&p, 1, 0) == 0 || !(p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

void bf_linger_before_close(int fd)
{
	struct timespec start, now;
	char sink[4096];
	size_t dropped = 0;

	if (shutdown(fd, SHUT_WR) < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (dropped < 64 * 1024) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = 1000 - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return;
		n = read(fd, sink, sizeof(sink));
		if (n <= 0)
			return;
		dropped += (size_t)n;
	}
}

/* The egress proxy watches its client while it waits for an origin's
 * answer: a stop shuts the client's socket down. */
int bf_recv_head(int fd, char *buf, size_t cap, size_t *len, size_t *head_len, int wait_ms,
		 int watch)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	*head_len = bf_http_head_end(buf, *len);
	if (*head_len)
		return 0;
	for (bool wait_first = watch >= 0; *len < cap; wait_first = false) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { watch, 0, 0 } };
		ssize_t n = -1;

		errno = EAGAIN;
		if (!wait_first)
			n = recv(fd, buf + *len, cap - *len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			long left;

			clock_gettime(CLOCK_MONOTONIC, &now);
			left = wait_ms - ((now.tv_sec - start.tv_sec) * 1000 +
					  (now.tv_nsec - start.tv_nsec) / 1000000);
			if (left <= 0 || poll(p, watch >= 0 ? 2 : 1, (int)left) <= 0)
				return -ETIMEDOUT;
			if (p[1].revents & (POLLHUP | POLLERR))
				return -ECONNABORTED;
			continue;
		}
		if (n <= 0)
			return -ECONNRESET;
		*len += (size_t)n;
		*head_len = bf_http_head_end(buf, *len);
		if (*head_len)
			return 0;
	}
	return -E2BIG;
}
