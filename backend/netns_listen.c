#include "netns_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIND_RETRIES 60
#define BIND_RETRY_US 50000

struct job {
	int ns_fd;
	int port;
	int fd;             /* result, or -errno */
};

/* Runs on a thread of its own: setns() moves only the calling thread,
 * and this one ends right after, so no other thread changes namespace. */
static void *listen_in_namespace(void *arg)
{
	struct job *j = arg;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)j->port) };
	int one = 1, fd;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setns(j->ns_fd, CLONE_NEWNET) < 0) {
		j->fd = -errno;
		return NULL;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		j->fd = -errno;
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Right after an unmount the previous daemon may still hold the
	 * port while it exits: wait for it, a little. */
	for (int tries = 0; bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0; tries++) {
		if (errno != EADDRINUSE || tries >= BIND_RETRIES) {
			j->fd = -errno;
			close(fd);
			return NULL;
		}
		usleep(BIND_RETRY_US);
	}
	if (listen(fd, 128) < 0) {
		j->fd = -errno;
		close(fd);
		return NULL;
	}
	j->fd = fd;
	return NULL;
}

int bf_netns_listen(pid_t pid, int port, struct bf_error *err)
{
	struct job j = { -1, port, -EIO };
	char path[64];
	pthread_t t;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	j.ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (j.ns_fd < 0)
		return bf_error_set(err, errno, "%s: %s", path, strerror(errno));
	r = pthread_create(&t, NULL, listen_in_namespace, &j);
	if (r == 0)
		pthread_join(t, NULL);
	close(j.ns_fd);
	if (r != 0)
		return bf_error_set(err, r, "thread: %s", strerror(r));
	if (j.fd < 0)
		return bf_error_set(err, -j.fd, "listening on 127.0.0.1:%d in the guest: %s", port,
				    strerror(-j.fd));
	return j.fd;
}
