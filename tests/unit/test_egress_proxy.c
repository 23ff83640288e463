/* The proxy's threads: it serves once started; a start that cannot give
 * a thread what it needs to wait on the listeners fails, rather than
 * leaving clients to hang in the backlog; a thread that cannot be added
 * later costs one refused connection, not the listeners. Real sockets on
 * loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../backend/egress_proxy.h"
#include "../../backend/error.h"
#include "cunit_main.h"

static char log_path[] = "/tmp/bottlefs-test-egress-XXXXXX";

static int listener(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)addr, sizeof(*addr)) == 0);
	CU_ASSERT_FATAL(listen(fd, 16) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)addr, &len) == 0);
	return fd;
}

static int start(int fd, struct bf_egress **e, struct bf_error *err)
{
	struct bf_sidecar_listener l = { .fd = fd, .kind = BF_SIDECAR_EGRESS };
	struct bf_egress_limits limits = { .idle_timeout = 5, .max_connections = 4 };

	return bf_egress_start(log_path, &l, 1, NULL, 0, &limits, e, err);
}

static const char request[] = "GET http://example.invalid/ HTTP/1.1\r\nHost: example.invalid\r\n\r\n";

static int client(void)
{
	struct timeval tv = { .tv_sec = 10 };
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(c >= 0);
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return c;
}

/* Sends the request on `c` and reads the answer until the proxy closes. */
static void ask(int c, const struct sockaddr_in *addr, char *answer, size_t len)
{
	size_t got = 0;
	ssize_t n;

	CU_ASSERT_FATAL(connect(c, (const struct sockaddr *)addr, sizeof(*addr)) == 0);
	CU_ASSERT_EQUAL(send(c, request, sizeof(request) - 1, 0), (ssize_t)sizeof(request) - 1);
	while (got < len - 1 && (n = recv(c, answer + got, len - 1 - got, 0)) > 0)
		got += (size_t)n;
	answer[got] = '\0';
	close(c);
}

/* The lowest limit of descriptors that leaves `n` free. */
static rlim_t limit_leaving(int n, rlim_t below)
{
	rlim_t limit = 0;
	int free_seen = 0;

	while (free_seen < n && limit < below) {
		if (fcntl((int)limit, F_GETFD) < 0 && errno == EBADF)
			free_seen++;
		limit++;
	}
	CU_ASSERT_EQUAL_FATAL(free_seen, n);
	return limit;
}

/* No rule allows anything: a request is answered with a refusal. */
static void test_serves(void)
{
	struct sockaddr_in addr;
	struct bf_egress *e = NULL;
	struct bf_error err = { 0 };
	char answer[512];
	int fd = listener(&addr);

	CU_ASSERT_EQUAL_FATAL(start(fd, &e, &err), 0);
	ask(client(), &addr, answer, sizeof(answer));
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 403", 12);
	bf_egress_stop(e);
}

/* Started, then no descriptor is left but the one accept4 takes: the
 * thread that accepted cannot start the next one, so it answers 503 and
 * waits again. With descriptors back, the next request is served. */
static void test_refuses_when_no_thread_can_start(void)
{
	struct rlimit saved, tight;
	struct sockaddr_in addr;
	struct bf_egress *e = NULL;
	struct bf_error err = { 0 };
	char answer[512];
	int fd = listener(&addr), c;

	CU_ASSERT_EQUAL_FATAL(start(fd, &e, &err), 0);
	c = client();
	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &saved) == 0);
	tight = saved;
	tight.rlim_cur = limit_leaving(1, saved.rlim_cur);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &tight) == 0);
	ask(c, &addr, answer, sizeof(answer));
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &saved) == 0);
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 503", 12);
	CU_ASSERT_PTR_NOT_NULL(strstr(answer, "error=proxy_internal_error"));
	CU_ASSERT_PTR_NOT_NULL(strstr(answer, "Too many open files"));
	ask(client(), &addr, answer, sizeof(answer));
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 403", 12);
	bf_egress_stop(e);
}

/* Room for the log and the stop's eventfd, none for a thread's epoll set:
 * the start fails with EMFILE, and the listener is still the caller's. */
static void test_start_fails_without_fds(void)
{
	struct rlimit saved, tight;
	struct sockaddr_in addr;
	struct bf_egress *e = NULL;
	struct bf_error err = { 0 };
	int fd = listener(&addr), r;

	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &saved) == 0);
	tight = saved;
	tight.rlim_cur = limit_leaving(2, saved.rlim_cur);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &tight) == 0);
	r = start(fd, &e, &err);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &saved) == 0);
	CU_ASSERT_EQUAL(r, -EMFILE);
	CU_ASSERT_EQUAL(err.code, EMFILE);
	CU_ASSERT_STRING_EQUAL(err.msg, "no wait set or pipes for its first thread: Too many open files");
	CU_ASSERT_EQUAL(fcntl(fd, F_GETFD), FD_CLOEXEC);        /* not closed */
	if (r == 0)
		bf_egress_stop(e);
	else
		close(fd);
}

int main(void)
{
	static const struct unit_test tests[] = {
		/* First: they count free descriptors, which a stopped proxy's
		 * threads give back at a time of their own. */
		{ "start_fails_without_fds", test_start_fails_without_fds },
		{ "refuses_when_no_thread_can_start", test_refuses_when_no_thread_can_start },
		{ "serves", test_serves },
		{ NULL, NULL },
	};
	int fd = mkstemp(log_path), r;

	if (fd < 0)
		return 2;
	close(fd);
	r = run_unit_tests("egress_proxy", tests);
	unlink(log_path);
	return r;
}
