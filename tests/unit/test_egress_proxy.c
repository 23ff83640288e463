/* The proxy's threads: it serves once started; a start that cannot give
 * a thread what it needs to wait on the listeners fails, rather than
 * leaving clients to hang in the backlog; a thread that cannot be added
 * later costs one refused connection, not the listeners. Its connections
 * to an origin, kept between plain requests: whole answers whatever
 * their framing, one connection for many requests, none kept where the
 * framing or the rules forbid, and smuggling's requests refused. Real
 * sockets on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
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

/* --- an origin server that counts its connections and answers by path */

static atomic_int origin_connections, origin_requests;

/* Reads one request (head and Content-Length body) into buf; its length,
 * or 0 once the proxy closed. */
static size_t origin_read_request(int fd, char *buf, size_t cap)
{
	size_t got = 0, need = 0;

	for (;;) {
		const char *end;
		ssize_t n;

		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end && !need) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");

			need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (need && got >= need)
			return got;
		n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
}

static void *origin_connection(void *arg)
{
	int fd = (int)(intptr_t)arg;
	bool drop_next = false;
	char req[8192], resp[9000];

	for (;;) {
		size_t len = origin_read_request(fd, req, sizeof(req));
		const char *body = strstr(req, "\r\n\r\n");

		if (!len)
			break;
		origin_requests++;
		if (drop_next)          /* as a server that closed it idle */
			break;
		if (strncmp(req, "GET /len ", 9) == 0) {
			strcpy(resp, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\n\r\nhello");
		} else if (strncmp(req, "HEAD /len ", 10) == 0) {
			strcpy(resp, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
		} else if (strncmp(req, "GET /chunked ", 13) == 0) {
			strcpy(resp, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				     "3;x=y\r\nchu\r\n4\r\nnked\r\n0\r\nT: 1\r\n\r\n");
		} else if (strncmp(req, "GET /nocontent ", 15) == 0) {
			strcpy(resp, "HTTP/1.1 204 No Content\r\n\r\n");
		} else if (strncmp(req, "GET /interim ", 13) == 0) {
			strcpy(resp, "HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"
				     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
		} else if (strncmp(req, "GET /close ", 11) == 0) {
			strcpy(resp, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
		} else if (strncmp(req, "GET /eof ", 9) == 0) {
			strcpy(resp, "HTTP/1.1 200 OK\r\n\r\nuntil-close");
		} else if (strncmp(req, "GET /badchunk ", 14) == 0) {
			strcpy(resp, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
		} else if (strncmp(req, "GET /close-next ", 16) == 0) {
			strcpy(resp, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nkept");
			drop_next = true;
		} else if ((strncmp(req, "POST /echo ", 11) == 0 || strncmp(req, "PUT /echo ", 10) == 0) &&
			   body) {
			snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
				 strlen(body + 4), body + 4);
		} else {
			strcpy(resp, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
		}
		if (send(fd, resp, strlen(resp), MSG_NOSIGNAL) < 0)
			break;
		if (strstr(resp, "Connection: close") || strstr(resp, "until-close") ||
		    strstr(resp, "zz\r\n") || strcasestr(req, "\r\nConnection: close\r\n"))
			break;
	}
	close(fd);
	return NULL;
}

static void *origin_server(void *arg)
{
	int l = (int)(intptr_t)arg, fd;

	while ((fd = accept4(l, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		pthread_t t;

		origin_connections++;
		if (pthread_create(&t, NULL, origin_connection, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
	return NULL;
}

struct origin_proxy {
	struct sockaddr_in origin, proxy;
	int origin_fd;
	pthread_t origin_thread;
	char rule[64];
	struct bf_egress *e;
};

static void origin_proxy_start(struct origin_proxy *op)
{
	struct bf_sidecar_listener l = { .kind = BF_SIDECAR_EGRESS };
	struct bf_egress_limits limits = { .idle_timeout = 5, .max_connections = 16 };
	struct bf_error err = { 0 };
	char *rules[1];

	memset(op, 0, sizeof(*op));
	rules[0] = op->rule;
	origin_connections = origin_requests = 0;
	op->origin_fd = listener(&op->origin);
	CU_ASSERT_FATAL(pthread_create(&op->origin_thread, NULL, origin_server,
				       (void *)(intptr_t)op->origin_fd) == 0);
	/* 127.0.0.1 is this host's: allowed only by a rule that names it. */
	snprintf(op->rule, sizeof(op->rule), "127.0.0.1:%d", ntohs(op->origin.sin_port));
	l.fd = listener(&op->proxy);
	CU_ASSERT_EQUAL_FATAL(bf_egress_start(log_path, &l, 1, rules, 1, &limits, &op->e, &err), 0);
}

static void origin_proxy_stop(struct origin_proxy *op)
{
	bf_egress_stop(op->e);
	shutdown(op->origin_fd, SHUT_RDWR);
	pthread_join(op->origin_thread, NULL);
	close(op->origin_fd);
}

/* One request through the proxy, sent in two parts (`later` after a
 * pause, as a body may come); the whole answer until the proxy closes. */
static void through(const struct origin_proxy *op, const char *method, const char *path,
		    const char *extra, const char *later, char *answer, size_t len)
{
	char req[1024];
	int c = client();
	size_t got = 0;
	ssize_t n;

	snprintf(req, sizeof(req), "%s http://127.0.0.1:%d%s HTTP/1.1\r\nHost: x\r\n%s\r\n", method,
		 ntohs(op->origin.sin_port), path, extra);
	CU_ASSERT_FATAL(connect(c, (const struct sockaddr *)&op->proxy, sizeof(op->proxy)) == 0);
	CU_ASSERT_EQUAL(send(c, req, strlen(req), 0), (ssize_t)strlen(req));
	if (later) {
		usleep(50000);
		CU_ASSERT_EQUAL(send(c, later, strlen(later), 0), (ssize_t)strlen(later));
	}
	while (got < len - 1 && (n = recv(c, answer + got, len - 1 - got, 0)) > 0)
		got += (size_t)n;
	answer[got] = '\0';
	close(c);
}

/* The body after the head, or "" */
static const char *body_of(const char *answer)
{
	const char *b = strstr(answer, "\r\n\r\n");

	return b ? b + 4 : "";
}

/* Lengths, chunks, no body, interim answers, HEAD and a body sent later
 * all end where they end: each client gets its whole answer, told that
 * its connection ends, and one connection to the origin serves them all. */
static void test_keeps_origin_connection(void)
{
	struct origin_proxy op;
	char answer[2048];

	origin_proxy_start(&op);
	through(&op, "GET", "/len", "", NULL, answer, sizeof(answer));
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 200 OK\r\n", 17);
	CU_ASSERT_STRING_EQUAL(body_of(answer), "hello");
	CU_ASSERT_PTR_NOT_NULL(strstr(answer, "\r\nConnection: close\r\n"));
	CU_ASSERT_PTR_NULL(strstr(answer, "Keep-Alive"));
	through(&op, "GET", "/chunked", "", NULL, answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "3;x=y\r\nchu\r\n4\r\nnked\r\n0\r\nT: 1\r\n\r\n");
	through(&op, "GET", "/nocontent", "", NULL, answer, sizeof(answer));
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 204 No Content\r\n", 25);
	through(&op, "HEAD", "/len", "", NULL, answer, sizeof(answer));
	CU_ASSERT_PTR_NOT_NULL(strstr(answer, "Content-Length: 5\r\n"));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "");
	through(&op, "GET", "/interim", "", NULL, answer, sizeof(answer));
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 200 OK\r\n", 57);
	CU_ASSERT_STRING_EQUAL(body_of(body_of(answer)), "ok");
	CU_ASSERT_EQUAL(origin_connections, 1);
	/* A PUT's body that comes after the head goes on by its length, and
	 * the next request on the same connection is not taken for part of
	 * it. */
	through(&op, "PUT", "/echo", "Content-Length: 10\r\n", "0123456789", answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "0123456789");
	through(&op, "GET", "/len", "", NULL, answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "hello");
	CU_ASSERT_EQUAL(origin_connections, 1);
	/* A POST, which must not be sent twice, takes a new connection; that
	 * one is kept after it. */
	through(&op, "POST", "/echo", "Content-Length: 2\r\n", "hi", answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "hi");
	CU_ASSERT_EQUAL(origin_connections, 2);
	through(&op, "GET", "/len", "", NULL, answer, sizeof(answer));
	through(&op, "GET", "/len", "", NULL, answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "hello");
	CU_ASSERT_EQUAL(origin_requests, 10);
	CU_ASSERT_EQUAL(origin_connections, 2);
	origin_proxy_stop(&op);
}

/* Not kept: an origin that says close, one whose body ends with its
 * close, one whose chunks break the syntax; and a chunked request gets a
 * connection of its own. Each later request gets a new connection. */
static void test_keeps_none_the_framing_forbids(void)
{
	struct origin_proxy op;
	char answer[2048];

	origin_proxy_start(&op);
	through(&op, "GET", "/close", "", NULL, answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "ok");
	through(&op, "GET", "/eof", "", NULL, answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "until-close");
	CU_ASSERT_EQUAL(origin_connections, 2);
	through(&op, "GET", "/badchunk", "", NULL, answer, sizeof(answer));
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 200 OK\r\n", 17);
	through(&op, "GET", "/len", "", NULL, answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "hello");
	CU_ASSERT_EQUAL(origin_connections, 4);
	/* a chunked request is relayed as before: a connection of its own */
	through(&op, "POST", "/echo", "Transfer-Encoding: chunked\r\n", "0\r\n\r\n", answer,
		sizeof(answer));
	CU_ASSERT_EQUAL(origin_connections, 5);
	origin_proxy_stop(&op);
}

/* The origin closed a kept connection just as a request went on it: the
 * request goes again on a new one, and the client never knows. */
static void test_retries_a_closed_kept_connection(void)
{
	struct origin_proxy op;
	char answer[2048];

	origin_proxy_start(&op);
	through(&op, "GET", "/close-next", "", NULL, answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "kept");
	through(&op, "GET", "/len", "", NULL, answer, sizeof(answer));
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 200 OK\r\n", 17);
	CU_ASSERT_STRING_EQUAL(body_of(answer), "hello");
	CU_ASSERT_EQUAL(origin_connections, 2);
	CU_ASSERT_EQUAL(origin_requests, 3);
	origin_proxy_stop(&op);
}

/* Smuggling's requests never reach the origin: two lengths that
 * disagree, or a length beside a coding. */
static void test_refuses_smuggling(void)
{
	struct origin_proxy op;
	char answer[2048];

	origin_proxy_start(&op);
	through(&op, "POST", "/echo", "Content-Length: 1\r\nContent-Length: 6\r\n", "xGET /", answer,
		sizeof(answer));
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 400", 12);
	through(&op, "POST", "/echo", "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
		"0\r\n\r\nX", answer, sizeof(answer));
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 400", 12);
	CU_ASSERT_EQUAL(origin_requests, 0);
	origin_proxy_stop(&op);
}

/* A kept connection does not outlive the rule that let it be made: with
 * the rule gone the request is refused, and with it back a new
 * connection is made. */
static void test_rules_change_empties_the_pool(void)
{
	struct origin_proxy op;
	char answer[2048], other[] = "example.invalid:80", *rules[1] = { other };

	origin_proxy_start(&op);
	through(&op, "GET", "/len", "", NULL, answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "hello");
	CU_ASSERT_EQUAL_FATAL(bf_egress_set_rules(op.e, rules, 1), 0);
	through(&op, "GET", "/len", "", NULL, answer, sizeof(answer));
	CU_ASSERT_NSTRING_EQUAL(answer, "HTTP/1.1 403", 12);
	rules[0] = op.rule;
	CU_ASSERT_EQUAL_FATAL(bf_egress_set_rules(op.e, rules, 1), 0);
	through(&op, "GET", "/len", "", NULL, answer, sizeof(answer));
	CU_ASSERT_STRING_EQUAL(body_of(answer), "hello");
	CU_ASSERT_EQUAL(origin_connections, 2);
	CU_ASSERT_EQUAL(origin_requests, 2);
	origin_proxy_stop(&op);
}

int main(void)
{
	static const struct unit_test tests[] = {
		/* First: they count free descriptors, which a stopped proxy's
		 * threads give back at a time of their own. */
		{ "start_fails_without_fds", test_start_fails_without_fds },
		{ "refuses_when_no_thread_can_start", test_refuses_when_no_thread_can_start },
		{ "serves", test_serves },
		{ "keeps_origin_connection", test_keeps_origin_connection },
		{ "keeps_none_the_framing_forbids", test_keeps_none_the_framing_forbids },
		{ "retries_a_closed_kept_connection", test_retries_a_closed_kept_connection },
		{ "refuses_smuggling", test_refuses_smuggling },
		{ "rules_change_empties_the_pool", test_rules_change_empties_the_pool },
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
