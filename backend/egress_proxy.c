/* A connection has a thread of its own for as long as it lasts. An agent
 * opens tens of connections, not tens of thousands, and a thread per
 * connection keeps the blocking parts simple and isolated: the host-side
 * name lookup (getaddrinfo blocks), a slow client that never finishes its
 * request head, a peer that vanishes. None of it runs on a FUSE thread,
 * and a connection's failure ends only that connection. Threads are kept
 * for the next connection (a few, for a while), each waiting on the
 * listeners itself, and the thread the kernel wakes serves the connection
 * it accepts: starting a thread, or handing a connection to one, per
 * short request cost more than the request. The relay (egress_relay.c)
 * splices through the thread's two pipes. Connections to origins are
 * kept between a bottle's plain requests (upstream_pool.c). */
#include "egress_proxy.h"
#include "git/git_gate.h"
#include "sock_io.h"
#include "supervise.h"
#include "waitq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bsd/string.h>

#include "egress_policy.h"
#include "egress_relay.h"
#include "host_addresses.h"
#include "http_head.h"
#include "upstream_pool.h"

#define MAX_LISTENERS 4
#define HEAD_MAX BF_EGRESS_HEAD_MAX
#define HEAD_TIMEOUT_MS 30000
#define CONNECT_TIMEOUT_MS 10000
/* Threads kept waiting for a connection, and for how long. */
#define IDLE_WORKERS_MAX 8
#define WORKER_IDLE_SECONDS 30

struct conn {
	struct bf_egress *e;
	int client;
	enum bf_sidecar_kind kind;
	struct bf_git_gate *git;
	struct bf_supervise *sup;
	struct conn *next;
	struct sockaddr_storage peer;   /* from accept: no getpeername */
};

struct bf_egress {
	pthread_mutex_t lock;
	struct bf_sidecar_listener listeners[MAX_LISTENERS];
	bool passes_fds[MAX_LISTENERS];   /* a unix listener: see passed_connection */
	size_t n_listeners;
	/* Outlive the listeners: freed with the proxy, after its last
	 * connection. */
	struct bf_git_gate *gates[MAX_LISTENERS];
	size_t n_gates;
	struct bf_supervise *sups[MAX_LISTENERS];
	size_t n_sups;
	int stop_fd;
	struct conn *conns;     /* open connections, to end them at stop */
	unsigned active;
	unsigned workers;
	unsigned idle_workers;  /* waiting on the listeners: may still use one */
	bool stopping;          /* no thread waits on the listeners any more */
	pthread_cond_t work;    /* the last one waiting has let go */
	bool orphaned;          /* stopped: the last worker frees it */
	char **rules;
	size_t n_rules;
	struct bf_upstream_pool pool;   /* origins' connections between requests */
	struct bf_egress_limits limits;
	pthread_mutex_t log_lock;
	char log_path[1200];
	int log_fd;
	off_t log_size;         /* what log_fd holds: no fstat per line */
	off_t log_max;
	/* Denials are logged up to DENY_LINES_PER_SECOND a second; the rest
	 * of that second is one summary line, so a flood of refused requests
	 * cannot rotate the allowed ones out of the retained history. */
	time_t deny_second;
	unsigned deny_lines, deny_dropped;
};

#define DENY_LINES_PER_SECOND 10

/* --- the egress file: append-only, rotated to NAME.1 past the cap */

static off_t log_size_of(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 ? st.st_size : 0;
}

static void log_line(struct bf_egress *e, const char *line)
{
	size_t len = strlen(line);
	ssize_t n;

	pthread_mutex_lock(&e->log_lock);
	if (e->log_fd >= 0 && e->log_size + (off_t)len > e->log_max) {
		char old[1300];

		snprintf(old, sizeof(old), "%s.1", e->log_path);
		rename(e->log_path, old);
		close(e->log_fd);
		e->log_fd = open(e->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		e->log_size = log_size_of(e->log_fd);
	}
	/* A full disk loses log lines, never connections. */
	n = e->log_fd >= 0 ? write(e->log_fd, line, len) : -1;
	if (n > 0)
		e->log_size += n;
	pthread_mutex_unlock(&e->log_lock);
}

/* What the guest sent (method, host) may hold any byte: the egress file
 * gets printable ASCII only, so each decision stays one parseable line. */
static void printable(char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '"')
			*s = '?';
}

static void stamp_of(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Writes the summary of the second before when a new second starts. */
static void roll_second(struct bf_egress *e, time_t t)
{
	pthread_mutex_lock(&e->log_lock);
	if (t != e->deny_second) {
		unsigned dropped = e->deny_dropped;
		time_t was = e->deny_second;

		e->deny_second = t;
		e->deny_lines = e->deny_dropped = 0;
		pthread_mutex_unlock(&e->log_lock);
		if (dropped) {
			char line[200], stamp[32];

			stamp_of(was, stamp, sizeof(stamp));
			snprintf(line, sizeof(line),
				 "%s - - - - deny reason=\"%u more refused requests in this second, not logged one by one\" up=0 down=0 ms=0\n",
				 stamp, dropped);
			log_line(e, line);
		}
		return;
	}
	pthread_mutex_unlock(&e->log_lock);
}

/* Whether this denial gets a line of its own. */
static bool deny_line_allowed(struct bf_egress *e, time_t t)
{
	bool ok;

	roll_second(e, t);
	pthread_mutex_lock(&e->log_lock);
	ok = e->deny_lines < DENY_LINES_PER_SECOND;
	if (ok)
		e->deny_lines++;
	else
		e->deny_dropped++;
	pthread_mutex_unlock(&e->log_lock);
	return ok;
}

static void log_decision(struct bf_egress *e, struct bf_egress_decision *d)
{
	char line[1500], stamp[32];
	struct timespec now;
	time_t t = time(NULL);
	long ms;

	if (d->allow)
		roll_second(e, t);
	else if (!deny_line_allowed(e, t))
		return;

	printable(d->method);
	printable(d->host);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - d->started.tv_sec) * 1000 + (now.tv_nsec - d->started.tv_nsec) / 1000000;
	stamp_of(t, stamp, sizeof(stamp));
	snprintf(line, sizeof(line), "%s %s %s %s:%d %s %s %s%s%s%s up=%llu down=%llu ms=%ld\n", stamp,
		 d->client, d->method, d->host[0] ? d->host : "-", d->port,
		 d->resolved[0] ? d->resolved : "-", d->allow ? "allow" : "deny",
		 d->allow ? "rule=" : "reason=\"", d->allow ? d->rule : d->reason,
		 d->allow ? "" : "\"", d->idle_ended ? " idle=ended" : "", d->up, d->down, ms);
	log_line(e, line);
}

/* Connects with a deadline; returns the socket or -errno. */
static int connect_to(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct pollfd p;
	int err = 0;
	socklen_t el = sizeof(err);

	if (fd < 0)
		return -errno;
	if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
		err = errno;
		close(fd);
		return -err;
	}
	p = (struct pollfd){ fd, POLLOUT, 0 };
	if (poll(&p, 1, CONNECT_TIMEOUT_MS) <= 0) {
		close(fd);
		return -ETIMEDOUT;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
		close(fd);
		return -(err ? err : EIO);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* The decision and the upstream connection: -1 with d->reason set if not.
 * With `reused`, a connection the pool kept for the destination serves
 * if there is one (and *reused says so): the rules still decide first. */
static int decide_and_connect(struct bf_egress *e, struct bf_egress_decision *d, int dflt_port,
			      bool *reused)
{
	struct bf_egress_verdict v = { 0 };
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	char port[8], **rules = NULL;
	size_t n = 0, i;
	int fd = -1, r;

	pthread_mutex_lock(&e->lock);
	rules = calloc(e->n_rules + 1, sizeof(char *));
	for (i = 0; rules && i < e->n_rules; i++)
		rules[n++] = strdup(e->rules[i]);
	pthread_mutex_unlock(&e->lock);
	if (!rules) {
		strlcpy(d->reason, "out of memory", sizeof(d->reason));
		return -1;
	}
	/* A refusal of the policy is 403; what failed after is 502/504. */
	d->status = 403;
	d->error = "http_request_denied";
	if (!bf_egress_match(rules, n, d->host, d->port, dflt_port, &v)) {
		strlcpy(d->reason, v.reason, sizeof(d->reason));
		goto out;
	}
	strlcpy(d->rule, v.rule, sizeof(d->rule));
	if (reused) {
		fd = bf_upstream_pool_take(&e->pool, d->host, d->port, d->resolved,
					   sizeof(d->resolved));
		*reused = fd >= 0;
		if (fd >= 0) {
			d->allow = true;
			goto out;
		}
	}
	snprintf(port, sizeof(port), "%d", d->port);
	r = getaddrinfo(d->host, port, &hints, &res);
	if (r != 0) {
		snprintf(d->reason, sizeof(d->reason), "cannot resolve %s: %s", d->host, gai_strerror(r));
		d->upstream_failed = true;
		d->status = r == EAI_AGAIN ? 504 : 502;
		d->error = r == EAI_AGAIN ? "dns_timeout" : "dns_error";
		goto out;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct bf_egress_verdict named = { 0 };
		const char *internal = bf_egress_internal_address(ai->ai_addr);

		if (!internal && bf_host_address(ai->ai_addr))
			internal = "an address of this host";
		const void *addr = ai->ai_family == AF_INET
					   ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
					   : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		inet_ntop(ai->ai_family, addr, d->resolved, sizeof(d->resolved));
		/* No DNS rebinding or SSRF: an internal address needs a rule of its own. */
		if (internal && !bf_egress_rule_names_address(rules, n, ai->ai_addr, d->port, dflt_port, &named)) {
			snprintf(d->reason, sizeof(d->reason), "%s resolves to %s (%s)", d->host,
				 d->resolved, internal);
			d->status = 403;
			d->error = "destination_ip_prohibited";
			continue;
		}
		fd = connect_to(ai->ai_addr, ai->ai_addrlen);
		if (fd >= 0) {
			d->allow = true;
			break;
		}
		d->upstream_failed = true;
		d->status = fd == -ETIMEDOUT ? 504 : 502;
		d->error = fd == -ECONNREFUSED ? "connection_refused"
			   : fd == -ETIMEDOUT  ? "connection_timeout"
					       : "destination_unavailable";
		snprintf(d->reason, sizeof(d->reason), "connect %s: %s", d->resolved, strerror(-fd));
	}
out:
	if (res)
		freeaddrinfo(res);
	for (i = 0; i < n; i++)
		free(rules[i]);
	free(rules);
	return fd;
}

/* 403 for the policy's refusals, 502 when the destination failed. */
static void refuse(int client, const struct bf_egress_decision *d)
{
	int code = d->status ? d->status : 403;

	bf_egress_http_error(client, code,
			     code == 504 ? "Gateway Timeout" : code == 502 ? "Bad Gateway" : "Forbidden",
			     d->error ? d->error : "http_request_denied", d->reason);
}

/* [network] ask: a destination no rule names waits in NAME/pending/ for a
 * person. True if it was allowed (the rule is then in the list). */
static bool ask_person(struct bf_egress *e, int client, struct bf_egress_decision *d,
		       const char *head, size_t head_len)
{
	char key[BF_WAITQ_KEY_MAX], text[1024], stamp[32], line[513], *answer = NULL;
	size_t line_len = 0;
	struct bf_waitq_item *item;
	enum bf_waitq_verdict v;
	time_t now = time(NULL);

	bf_http_format_authority(d->host, d->port, key, sizeof(key));
	while (line_len < head_len && line_len < sizeof(line) - 1 && head[line_len] != '\r' &&
	       head[line_len] != '\n')
		line_len++;
	memcpy(line, head, line_len);
	line[line_len] = '\0';
	for (size_t i = 0; i < line_len; i++)    /* the guest wrote it: no control bytes */
		if ((unsigned char)line[i] < ' ' || (unsigned char)line[i] > '~')
			line[i] = '?';
	stamp_of(now, stamp, sizeof(stamp));
	snprintf(text, sizeof(text), "time=%s\nrequest=%s\nclient=%s\n", stamp, line, d->client);
	item = bf_waitq_post(e->limits.ask, key, text, true, key);
	if (!item) {
		snprintf(d->reason + strlen(d->reason), sizeof(d->reason) - strlen(d->reason),
			 "; not asked: %s", errno == ENOSPC ? "too many destinations wait already"
							    : "the bottle is stopping");
		return false;
	}
	v = bf_waitq_wait(e->limits.ask, item, e->limits.idle_timeout, bf_peer_still_there, &client,
			  &answer);
	free(answer);
	if (v == BF_WAITQ_ALLOWED)
		return true;
	snprintf(d->reason, sizeof(d->reason), "%s: %s", key,
		 v == BF_WAITQ_DENIED    ? "denied in pending/"
		 : v == BF_WAITQ_TIMEOUT ? "no decision in pending/ in time (it still waits there)"
					 : "the client left before a decision (it still waits in pending/)");
	return false;
}

static void serve_proxy(struct bf_egress *e, int client, struct bf_egress_decision *d,
			struct bf_relay_pipes *rp)
{
	char *buf = malloc(HEAD_MAX + 1);
	struct bf_http_request req;
	size_t len = 0, head_len = 0;
	const char *why = NULL;
	int up = -1, r;
	bool exchanging = false, may_reuse = false, reused = false;
	unsigned generation;
	long long body_len = 0;

	if (!buf)
		return;
	r = bf_recv_head(client, buf, HEAD_MAX, &len, &head_len, HEAD_TIMEOUT_MS, -1);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			bf_egress_http_error(client, 408, "Request Timeout", "http_request_error",
					     "the request head did not arrive in time");
		else if (r == -E2BIG)
			bf_egress_http_error(client, 431, "Request Header Fields Too Large", "http_request_error",
					     "request head over 16 KiB");
		strlcpy(d->reason, r == -ETIMEDOUT ? "request head timed out"
				   : r == -E2BIG  ? "request head too large"
						  : "client went away",
			sizeof(d->reason));
		goto done;
	}
	/* Parsed in place, never changed: what follows the head is passed on
	 * byte for byte. */
	if (bf_http_parse_request(buf, head_len, &req, &why) != 0) {
		bf_egress_http_error(client, 400, "Bad Request", "http_request_error", why);
		strlcpy(d->method, req.method[0] ? req.method : "-", sizeof(d->method));
		strlcpy(d->reason, why, sizeof(d->reason));
		goto done;
	}
	strlcpy(d->method, req.method, sizeof(d->method));
	strlcpy(d->host, req.host, sizeof(d->host));
	d->port = req.port;
	/* A plain request whose body's end its head tells goes as one
	 * exchange on a connection that may be kept; the others (a CONNECT,
	 * a chunked or Expect or Upgrade request, HTTP/1.0) are relayed
	 * until either side closes, on a connection of their own. */
	if (!req.tunnel) {
		struct bf_http_framing f;

		if (bf_http_parse_framing(buf, head_len, req.http10, &f, &why) != 0 ||
		    (f.transfer_encoding && f.content_length >= 0)) {
			why = why ? why : "both Transfer-Encoding and Content-Length";
			bf_egress_http_error(client, 400, "Bad Request", "http_request_error", why);
			strlcpy(d->reason, why, sizeof(d->reason));
			goto done;
		}
		exchanging = !req.http10 && !f.transfer_encoding && !f.expect && !f.upgrade;
		/* A kept connection may have been closed by the origin as the
		 * request went, and only a request that may be sent twice is
		 * sent again then (RFC 9110 section 9.2.2): the others take a
		 * new connection, which may still be kept after them. */
		may_reuse = exchanging && bf_http_method_idempotent(req.method);
		body_len = f.content_length > 0 ? f.content_length : 0;
	}
	/* Read before the decision: a change of the rules after it means
	 * this connection is not kept for the next request. */
	generation = bf_upstream_pool_generation(&e->pool);
	up = decide_and_connect(e, d, req.default_port, may_reuse ? &reused : NULL);
	if (up < 0 && e->limits.ask && d->status == 403 && d->error &&
	    strcmp(d->error, "http_request_denied") == 0) {
		if (ask_person(e, client, d, buf, head_len)) {
			memset(d->reason, 0, sizeof(d->reason));
			up = decide_and_connect(e, d, req.default_port, may_reuse ? &reused : NULL);
		}
	}
	if (up < 0) {
		refuse(client, d);
		goto done;
	}
	if (exchanging) {
		enum bf_exchanged x = bf_relay_exchange(client, up, reused, buf, len, head_len, &req,
							body_len, e->limits.idle_timeout, d, rp);

		if (x == BF_EXCHANGE_RETRY) {
			/* Closed by the origin while kept: once more, on a new one;
			 * the log counts what the one that answers got. */
			close(up);
			d->up = 0;
			up = decide_and_connect(e, d, req.default_port, NULL);
			if (up < 0) {
				refuse(client, d);
				goto done;
			}
			x = bf_relay_exchange(client, up, false, buf, len, head_len, &req, body_len,
					      e->limits.idle_timeout, d, rp);
		}
		/* The answer is whole: the client hears its end now, not after
		 * the log line. */
		shutdown(client, SHUT_WR);
		if (x == BF_EXCHANGE_KEEP) {
			bf_upstream_pool_put(&e->pool, up, d->host, d->port, d->resolved, generation);
			up = -1;
		}
		goto done;
	}
	if (req.tunnel) {
		r = bf_send_all(client, "HTTP/1.1 200 Connection established\r\n\r\n", 39);
	} else {
		char *head = malloc(HEAD_MAX + 64);
		size_t hlen;

		if (!head)
			goto done;
		hlen = bf_http_origin_head(buf, head_len, &req, false, head, HEAD_MAX + 64);
		r = bf_send_all(up, head, hlen);
		d->up += hlen;
		free(head);
	}
	/* What the client sent after the head belongs upstream. */
	if (r < 0 || (len > head_len && bf_send_all(up, buf + head_len, len - head_len) < 0))
		goto done;
	d->up += len - head_len;
	bf_relay_both_ways(client, up, d, e->limits.idle_timeout, rp);
done:
	if (up >= 0)
		close(up);
	free(buf);
}

static void destroy(struct bf_egress *e);

/* Serves one connection; the worker's lock is not held. */
static void serve_connection(struct conn *c, struct bf_relay_pipes *rp)
{
	struct bf_egress *e = c->e;
	struct bf_egress_decision d = { 0 };
	struct conn **pp;

	clock_gettime(CLOCK_MONOTONIC, &d.started);
	if (c->peer.ss_family == AF_INET)
		snprintf(d.client, sizeof(d.client), "%s:%d",
			 inet_ntoa(((struct sockaddr_in *)&c->peer)->sin_addr),
			 ntohs(((struct sockaddr_in *)&c->peer)->sin_port));
	else
		strlcpy(d.client, "-", sizeof(d.client));
	if (c->kind == BF_SIDECAR_EGRESS) {
		serve_proxy(e, c->client, &d, rp);
		if (d.method[0])
			log_decision(e, &d);
	} else if (c->kind == BF_SIDECAR_GIT_GATE) {
		if (c->git)
			bf_git_gate_serve(c->git, c->client);
		else
			bf_git_gate_unavailable(c->client);
	} else if (c->sup) {
		bf_supervise_serve(c->sup, c->client);
	} else {
		bf_egress_http_error(c->client, 503, "Service Unavailable", "proxy_configuration_error",
				     "supervise could not start (the reason is in the mount's errors file)");
	}
	pthread_mutex_lock(&e->lock);
	for (pp = &e->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	close(c->client);
	e->active--;
	pthread_mutex_unlock(&e->lock);
	free(c);
}

/* A unix listener's connection carries the guest's connection as an fd
 * (a VM's forwarder, bottlefs-vm-fwd): that fd is the client. The sender
 * is root's (the socket is 0600 in a 0700 directory) and sends at once;
 * a second bounds the wait all the same. */
static int passed_connection(int conn)
{
	char byte, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct timeval limit = { 1, 0 };
	struct cmsghdr *c;
	int fd = -1;

	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
	if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) == 1 && (c = CMSG_FIRSTHDR(&msg)) &&
	    c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	close(conn);
	return fd;
}

/* A thread's own epoll set: every listener, each waking one waiting
 * thread only (EPOLLEXCLUSIVE), and the stop, which wakes all. -1 if it
 * cannot be made. */
static int wait_set_open(struct bf_egress *e)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = MAX_LISTENERS };

	if (ep < 0)
		return -1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, e->stop_fd, &ev) < 0)
		goto fail;
	for (size_t i = 0; i < e->n_listeners; i++) {
		ev = (struct epoll_event){ .events = EPOLLIN | EPOLLEXCLUSIVE, .data.u32 = (uint32_t)i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, e->listeners[i].fd, &ev) < 0)
			goto fail;
	}
	return ep;
fail:
	close(ep);
	return -1;
}

/* Waits for the next connection on any listener, writing the refusals'
 * summary each quiet second. Returns the accepted socket, its listener's
 * index and its peer; -1 once stopped, or with `*quiet` set after
 * WORKER_IDLE_SECONDS without one. */
static int wait_for_connection(struct bf_egress *e, int ep, size_t *which,
			       struct sockaddr_storage *peer, bool *quiet)
{
	int quiet_seconds = 0;

	*quiet = false;
	for (;;) {
		struct epoll_event ev;
		socklen_t plen = sizeof(*peer);
		int ready = epoll_wait(ep, &ev, 1, 1000), fd;

		if (ready < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (ready == 0) {
			roll_second(e, time(NULL));
			bf_upstream_pool_prune(&e->pool);
			if (++quiet_seconds >= WORKER_IDLE_SECONDS) {
				*quiet = true;
				return -1;
			}
			continue;
		}
		if (ev.data.u32 >= e->n_listeners)
			return -1;      /* the stop */
		/* Another thread may have taken it: the listeners do not block. */
		fd = accept4(e->listeners[ev.data.u32].fd, (struct sockaddr *)peer, &plen, SOCK_CLOEXEC);
		if (fd >= 0 && e->passes_fds[ev.data.u32]) {
			fd = passed_connection(fd);
			plen = sizeof(*peer);
			if (fd >= 0 && getpeername(fd, (struct sockaddr *)peer, &plen) < 0)
				peer->ss_family = AF_UNSPEC;
		}
		if (fd >= 0) {
			*which = ev.data.u32;
			return fd;
		}
	}
}

/* What a thread needs to wait and relay, made before it starts: a thread
 * that could not make them would leave the listeners unwatched. */
struct worker_kit {
	struct bf_egress *e;
	int ep;
	struct bf_relay_pipes pipes;
};

static void *worker(void *arg);

/* One more thread waiting for connections; false with errno if none can
 * be had (the caller refuses the connection and keeps waiting itself). */
static bool add_worker_locked(struct bf_egress *e)
{
	struct worker_kit *kit = malloc(sizeof(*kit));
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (!kit)
		return false;
	kit->e = e;
	kit->ep = wait_set_open(e);
	if (kit->ep < 0 || bf_relay_pipes_open(&kit->pipes) < 0) {
		int saved = errno;

		if (kit->ep >= 0)
			close(kit->ep);
		free(kit);
		errno = saved;
		return false;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	r = pthread_create(&t, &attr, worker, kit);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		close(kit->ep);
		bf_relay_pipes_close(&kit->pipes);
		free(kit);
		errno = r;
		return false;
	}
	e->workers++;
	return true;
}

/* Every idle thread waits on the listeners itself, and the kernel wakes
 * one of them per connection, which serves it: no thread hands a
 * connection or the waiting to another (each hand-off was a wake-up and a
 * lock taken across two CPUs, per connection). A thread that takes the
 * last idle one's place starts another. Threads kept idle are at most
 * IDLE_WORKERS_MAX, and all but one end after WORKER_IDLE_SECONDS. The
 * last thread to end after the stop frees the proxy. */
static void *worker(void *arg)
{
	struct worker_kit *kit = arg;
	struct bf_egress *e = kit->e;
	struct bf_relay_pipes *rp = &kit->pipes;
	int ep = kit->ep;
	bool last;

	pthread_mutex_lock(&e->lock);
	while (!e->stopping) {
		struct sockaddr_storage peer = { 0 };
		size_t which = 0;
		struct conn *c;
		bool quiet, at_limit;
		int fd;

		if (e->idle_workers >= IDLE_WORKERS_MAX)
			break;
		e->idle_workers++;
		pthread_mutex_unlock(&e->lock);
		fd = wait_for_connection(e, ep, &which, &peer, &quiet);
		pthread_mutex_lock(&e->lock);
		if (--e->idle_workers == 0 && e->stopping)
			pthread_cond_broadcast(&e->work);       /* the stop waits for this */
		if (fd < 0 || e->stopping) {
			/* A connection accepted as the stop came is dropped. */
			if (fd >= 0)
				close(fd);
			if (e->stopping || !quiet || e->idle_workers > 0)
				break;
			continue;       /* quiet, but the last one waiting */
		}
		at_limit = e->active >= e->limits.max_connections;
		if (at_limit || (e->idle_workers == 0 && !add_worker_locked(e)) ||
		    !(c = calloc(1, sizeof(*c)))) {
			int why = errno;        /* add_worker_locked's or calloc's */

			/* Refused here, and this thread waits again. */
			pthread_mutex_unlock(&e->lock);
			if (at_limit) {
				bf_egress_http_error(fd, 503, "Service Unavailable", "connection_limit_reached",
						     "too many connections");
			} else {
				char reason[160];

				snprintf(reason, sizeof(reason),
					 "the proxy is out of resources for another connection: %s", strerror(why));
				bf_egress_http_error(fd, 503, "Service Unavailable", "proxy_internal_error", reason);
			}
			close(fd);
			pthread_mutex_lock(&e->lock);
			continue;
		}
		*c = (struct conn){ e, fd, e->listeners[which].kind, e->listeners[which].git,
				    e->listeners[which].sup, e->conns, peer };
		e->conns = c;
		e->active++;
		pthread_mutex_unlock(&e->lock);
		serve_connection(c, rp);
		pthread_mutex_lock(&e->lock);
	}
	last = --e->workers == 0 && e->orphaned && e->active == 0;
	pthread_mutex_unlock(&e->lock);
	close(ep);
	bf_relay_pipes_close(rp);
	free(kit);
	if (last)
		destroy(e);
	return NULL;
}

static char **copy_rules(char *const *rules, size_t n)
{
	char **v = calloc(n + 1, sizeof(char *));
	size_t i;

	for (i = 0; v && i < n; i++) {
		v[i] = strdup(rules[i]);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

static void free_rules(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int bf_egress_set_rules(struct bf_egress *e, char *const *rules, size_t n)
{
	char **v = copy_rules(rules, n), **old;
	size_t old_n;

	if (!v)
		return -ENOMEM;
	pthread_mutex_lock(&e->lock);
	old = e->rules;
	old_n = e->n_rules;
	e->rules = v;
	e->n_rules = n;
	pthread_mutex_unlock(&e->lock);
	free_rules(old, old_n);
	/* No kept connection serves a request decided under other rules. */
	bf_upstream_pool_forget(&e->pool, false);
	return 0;
}

int bf_egress_start(const char *log_path, const struct bf_sidecar_listener *listeners,
		    size_t n, char *const *rules, size_t n_rules,
		    const struct bf_egress_limits *limits, struct bf_egress **out,
		    struct bf_error *err)
{
	struct bf_egress *e;
	size_t i;

	if (n > MAX_LISTENERS)
		return bf_error_set(err, EINVAL, "too many sidecar listeners");
	e = calloc(1, sizeof(*e));
	if (!e)
		return bf_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->work, NULL);
	pthread_mutex_init(&e->log_lock, NULL);
	bf_upstream_pool_init(&e->pool);
	strlcpy(e->log_path, log_path, sizeof(e->log_path));
	e->log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	e->log_size = log_size_of(e->log_fd);
	e->stop_fd = eventfd(0, EFD_CLOEXEC);
	for (i = 0; i < n; i++) {
		int domain = 0;
		socklen_t dl = sizeof(domain);

		e->listeners[i] = listeners[i];
		/* Woken threads race for a connection: the loser must not block. */
		fcntl(listeners[i].fd, F_SETFL, fcntl(listeners[i].fd, F_GETFL) | O_NONBLOCK);
		e->passes_fds[i] = getsockopt(listeners[i].fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) == 0 &&
				   domain == AF_UNIX;
	}
	e->n_listeners = n;
	for (i = 0; i < n; i++) {
		if (listeners[i].git)
			e->gates[e->n_gates++] = listeners[i].git;
		if (listeners[i].sup)
			e->sups[e->n_sups++] = listeners[i].sup;
	}
	e->rules = copy_rules(rules, n_rules);
	e->n_rules = n_rules;
	e->limits = *limits;
	if (e->limits.ask)
		bf_waitq_ref(e->limits.ask);
	e->log_max = limits->log_max > 0 ? limits->log_max : BF_EGRESS_LOG_MAX;
	pthread_mutex_lock(&e->lock);
	if (e->log_fd >= 0 && e->stop_fd >= 0 && e->rules)
		add_worker_locked(e);      /* the first one waiting */
	pthread_mutex_unlock(&e->lock);
	if (!e->workers) {
		int code = errno ? errno : ENOMEM;

		e->n_listeners = 0;     /* the caller still owns them */
		if (e->log_fd >= 0)
			close(e->log_fd);
		if (e->stop_fd >= 0)
			close(e->stop_fd);
		free_rules(e->rules, n_rules);
		bf_waitq_unref(e->limits.ask);
		bf_upstream_pool_destroy(&e->pool);
		free(e);
		return bf_error_set(err, code, "no wait set or pipes for its first thread: %s",
				    strerror(code));
	}
	*out = e;
	return 0;
}

void bf_egress_stop(struct bf_egress *e)
{
	uint64_t one = 1;
	struct conn *c;
	bool idle;
	size_t i;

	if (!e)
		return;
	/* No thread may use the listeners once they are closed: those waiting
	 * see stop_fd at once, and none waits again after `stopping`. */
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	if (write(e->stop_fd, &one, sizeof(one)) == sizeof(one))
		while (e->idle_workers)
			pthread_cond_wait(&e->work, &e->lock);
	for (i = 0; i < e->n_listeners; i++)
		close(e->listeners[i].fd);
	/* Connections end on their own once their sockets are shut down; one
	 * may still sit in a name lookup or a connect, so it is not waited
	 * for here (the caller holds the registry lock): the last one frees. */
	for (c = e->conns; c; c = c->next)
		shutdown(c->client, SHUT_RDWR);
	bf_upstream_pool_forget(&e->pool, true);
	idle = e->active == 0 && e->workers == 0;
	e->orphaned = true;
	pthread_cond_broadcast(&e->work);       /* idle workers end */
	pthread_mutex_unlock(&e->lock);
	if (idle)
		destroy(e);
}

static void destroy(struct bf_egress *e)
{
	roll_second(e, e->deny_second + 1);     /* the last second's summary */
	for (size_t i = 0; i < e->n_gates; i++)
		bf_git_gate_free(e->gates[i]);
	for (size_t i = 0; i < e->n_sups; i++)
		bf_supervise_free(e->sups[i]);
	bf_waitq_unref(e->limits.ask);
	free_rules(e->rules, e->n_rules);
	bf_upstream_pool_destroy(&e->pool);
	close(e->stop_fd);
	if (e->log_fd >= 0)
		close(e->log_fd);
	pthread_mutex_destroy(&e->log_lock);
	pthread_cond_destroy(&e->work);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
