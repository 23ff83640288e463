/* The egress proxy's side of a connection once a request is read: error
 * answers, heads read with a deadline, bytes moved between the client and
 * the destination by splice(2), both ways until either side closes (a
 * tunnel), or as one request and its response on an origin connection
 * that may be kept (plain http://). Internal to the proxy (egress_proxy.c
 * decides, connects and logs). */
#ifndef BOTTLEFS_EGRESS_RELAY_H
#define BOTTLEFS_EGRESS_RELAY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "http_head.h"

/* The most a request or response head may take. */
#define BF_EGRESS_HEAD_MAX 16384

/* One request's decision and what became of it: one line of the egress
 * file. */
struct bf_egress_decision {
	char client[64];
	char method[16];
	char host[256];
	int port;
	char resolved[INET6_ADDRSTRLEN];
	bool allow;
	char rule[300];         /* the rule that allowed it */
	char reason[400];       /* why it was denied or failed */
	unsigned long long up, down;
	struct timespec started;
	bool upstream_failed;   /* allowed, but the destination did not answer */
	bool idle_ended;        /* allowed, and ended for being quiet too long */
	int status;             /* the error answer, when not allowed */
	const char *error;      /* its RFC 9209 error type */
};

/* A worker's two pipes, one a direction, through which relays splice:
 * socket to pipe to socket moves page references, where read(2) and
 * write(2) copied every byte into the daemon and out again (1.5-1.7 GB/s
 * against 1.3-1.4 on loopback here, 1 MiB pipes a little ahead of 256
 * KiB). Empty between connections. */
struct bf_relay_pipes {
	int fds[2][2];
};

int bf_relay_pipes_open(struct bf_relay_pipes *rp);
void bf_relay_pipes_close(struct bf_relay_pipes *rp);

/* An error answer: the reason in the body and, for clients that never
 * show a CONNECT refusal's body (HTTPS ones), in a Proxy-Status header
 * (RFC 9209) with its error type. */
void bf_egress_http_error(int fd, int code, const char *status, const char *error,
			  const char *reason);

/* Moves both ways until both are done. The relays leave their pipes
 * empty (new ones where a side vanished mid-move). */
void bf_relay_both_ways(int client, int upstream, struct bf_egress_decision *d, int idle,
			struct bf_relay_pipes *rp);

/* The outcome of an exchange. */
enum bf_exchanged {
	BF_EXCHANGE_KEEP,          /* `up` may serve another request */
	BF_EXCHANGE_DONE,          /* done, or failed; `up` is closed after */
	BF_EXCHANGE_RETRY,         /* a kept `up` had been closed: nothing was answered */
};

/* One plain request and its response; see egress_relay.c. */
enum bf_exchanged bf_relay_exchange(int client, int up, bool reused, const char *buf, size_t len,
				    size_t head_len, const struct bf_http_request *req,
				    long long body_len, int idle, struct bf_egress_decision *d,
				    struct bf_relay_pipes *rp);

#endif
