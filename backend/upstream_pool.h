/* Connections to origin servers kept between a bottle's plain http://
 * requests, so that a request does not pay for a new TCP connection
 * (and the origin for an accept) each time. Each bottle's proxy has its
 * own pool: a connection never serves another bottle. Keyed by the
 * destination as the request named it; the policy decides every request
 * before the pool is asked, and a change of the rules starts a new
 * generation of the pool, whose requests never get a connection made
 * under the rules before. Nothing here closes a descriptor where the
 * rules change (the registry's lock is held there): the proxy's own
 * threads do. */
#ifndef BOTTLEFS_UPSTREAM_POOL_H
#define BOTTLEFS_UPSTREAM_POOL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define BF_UPSTREAM_POOL_MAX 8
/* Kept at most this long unused: servers close idle connections (5 s is
 * common), and one closed while a request is on its way costs a retry. */
#define BF_UPSTREAM_IDLE_SECONDS 4

struct bf_upstream_kept {
	int fd;
	int port;
	char host[256];
	char resolved[INET6_ADDRSTRLEN];
	struct timespec since;
	unsigned generation;    /* of the rules it was made under */
};

struct bf_upstream_pool {
	pthread_mutex_t lock;
	struct bf_upstream_kept kept[BF_UPSTREAM_POOL_MAX];
	size_t n;
	bool closed;            /* the proxy stops: nothing more is kept */
	unsigned generation;    /* one more at each change of the rules */
	int idle_seconds;       /* BF_UPSTREAM_IDLE_SECONDS; less in tests */
};

void bf_upstream_pool_init(struct bf_upstream_pool *p);

/* A kept connection to host:port that the origin has not closed, or -1.
 * `resolved` gets the address it was made to. */
int bf_upstream_pool_take(struct bf_upstream_pool *p, const char *host, int port, char *resolved,
			  size_t resolved_len);

/* The generation a request is decided in: read before the decision,
 * given back with the connection to bf_upstream_pool_put. */
unsigned bf_upstream_pool_generation(struct bf_upstream_pool *p);

/* Keeps `fd`, made or taken in `generation`, for the next request to
 * host:port; or closes it (the rules changed since, the pool is full of
 * newer ones, or closed). */
void bf_upstream_pool_put(struct bf_upstream_pool *p, int fd, const char *host, int port,
			  const char *resolved, unsigned generation);

/* Closes the connections unused for idle_seconds, or made under rules
 * that changed since: the proxy's threads call it each quiet second, so
 * that such a connection does not hold a descriptor until the bottle's
 * next request. */
void bf_upstream_pool_prune(struct bf_upstream_pool *p);

/* The rules changed: no kept connection serves a request again (they
 * are closed by the next take or prune). `close_pool`: the proxy stops,
 * nothing more is kept. No I/O. */
void bf_upstream_pool_forget(struct bf_upstream_pool *p, bool close_pool);

/* Closes every kept connection and frees the pool. */
void bf_upstream_pool_destroy(struct bf_upstream_pool *p);

#endif
