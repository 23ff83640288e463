/* The least any HTTP proxy relay does, as a benchmark's floor: one thread
 * serving one connection at a time, with no policy, no log, no timeouts.
 * It listens where bottlefs's proxy does (127.0.0.1 in the bottle's
 * network namespace) and connects from the host's, reads the request
 * head, sends it on in origin form, then splices the answer back until
 * either side closes. Client bodies are not relayed: the benchmarks send
 * none. What bottlefs's proxy costs beyond this is its own; what
 * this costs beyond a direct connection is the second TCP hop's. It
 * makes a new origin connection per request: a proxy that keeps them
 * (bottlefs's does, for plain requests) can pass it in connections per
 * second, never in throughput.
 * Usage: relay_floor GUEST_PID LISTEN_PORT UPSTREAM_IPV4 UPSTREAM_PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_in(const char *guest_pid, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char path[64];
	int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), guest, fd = -1, one = 1;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", guest_pid);
	guest = open(path, O_RDONLY | O_CLOEXEC);
	if (host < 0 || guest < 0 || setns(guest, CLONE_NEWNET) < 0) {
		perror(path);
		exit(1);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0 ||
	    setns(host, CLONE_NEWNET) < 0) {
		perror("listen");
		exit(1);
	}
	close(guest);
	close(host);
	return fd;
}

/* "GET http://h:p/path HTTP/1.1\r\n..." into "GET /path HTTP/1.1\r\n...". */
static size_t origin_form(const char *in, size_t len, char *out, size_t cap)
{
	const char *sp = memchr(in, ' ', len), *scheme, *path;
	size_t o;

	if (!sp || (size_t)(sp - in) + 1 > cap)
		return 0;
	o = (size_t)(sp - in) + 1;
	memcpy(out, in, o);
	scheme = strstr(sp, "://");
	path = scheme ? strchr(scheme + 3, '/') : NULL;
	if (!path || len - (size_t)(path - in) > cap - o)
		return 0;
	memcpy(out + o, path, len - (size_t)(path - in));
	return o + len - (size_t)(path - in);
}

int main(int argc, char **argv)
{
	struct sockaddr_in up_addr = { .sin_family = AF_INET };
	int listener, pipe_fds[2];

	if (argc != 5 || inet_pton(AF_INET, argv[3], &up_addr.sin_addr) != 1) {
		fprintf(stderr, "usage: relay_floor GUEST_PID LISTEN_PORT UPSTREAM_IPV4 UPSTREAM_PORT\n");
		return 2;
	}
	up_addr.sin_port = htons((uint16_t)atoi(argv[4]));
	listener = listen_in(argv[1], atoi(argv[2]));
	if (pipe2(pipe_fds, O_CLOEXEC) < 0 || fcntl(pipe_fds[1], F_SETPIPE_SZ, 1 << 20) < 0) {
		perror("pipe");
		return 1;
	}
	for (;;) {
		char head[16384], origin[16384];
		size_t len = 0, olen;
		int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC), up = -1;

		if (client < 0)
			continue;
		while (len < sizeof(head) - 1) {
			ssize_t n = recv(client, head + len, sizeof(head) - 1 - len, 0);

			if (n <= 0)
				break;
			len += (size_t)n;
			head[len] = '\0';
			if (strstr(head, "\r\n\r\n"))
				break;
		}
		olen = origin_form(head, len, origin, sizeof(origin));
		if (olen)
			up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (up >= 0 && connect(up, (struct sockaddr *)&up_addr, sizeof(up_addr)) == 0 &&
		    send(up, origin, olen, MSG_NOSIGNAL) == (ssize_t)olen) {
			/* Until either side closes: curl keeps a proxy connection
			 * open, and nginx keeps its own. */
			for (;;) {
				struct pollfd p[2] = { { up, POLLIN, 0 }, { client, POLLIN, 0 } };
				ssize_t n, left;

				if (poll(p, 2, -1) <= 0 || p[1].revents)
					break;
				left = n = splice(up, NULL, pipe_fds[1], NULL, 1 << 20, SPLICE_F_MOVE);
				if (n <= 0)
					break;
				while (left > 0) {
					ssize_t m = splice(pipe_fds[0], NULL, client, NULL, (size_t)left,
							   SPLICE_F_MOVE);

					if (m <= 0) {   /* the client left: no bytes may stay behind */
						close(pipe_fds[0]);
						close(pipe_fds[1]);
						if (pipe2(pipe_fds, O_CLOEXEC) < 0)
							return 1;
						fcntl(pipe_fds[1], F_SETPIPE_SZ, 1 << 20);
						break;
					}
					left -= m;
				}
			}
		}
		shutdown(client, SHUT_WR);
		if (up >= 0)
			close(up);
		close(client);
	}
}
