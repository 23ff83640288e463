/* Connections to origin servers kept between a bottle's plain http://
 * requests, so that a request does not pay for a new TCP connection
 * (and the origin for an accept) each time. Each bottle's proxy has its
 * own pool: a connection never serves another bottle. Keyed by the
 * destination as the request named it; the policy decides every request
 * before the pool is asked, and a change of the rules empties the pool,
 * so no connection outlives the rule that let it be made. */
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
};

struct bf_upstream_pool {
	pthread_mutex_t lock;
	struct bf_upstream_kept kept[BF_UPSTREAM_POOL_MAX];
	size_t n;
	bool closed;            /* the proxy stops: nothing more is kept */
	int idle_seconds;       /* BF_UPSTREAM_IDLE_SECONDS; less in tests */
};

void bf_upstream_pool_init(struct bf_upstream_pool *p);

/* A kept connection to host:port that the origin has not closed, or -1.
 * `resolved` gets the address it was made to. */
int bf_upstream_pool_take(struct bf_upstream_pool *p, const char *host, int port, char *resolved,
			  size_t resolved_len);

/* Keeps `fd` for the next request to host:port, or closes it (the pool
 * is full of newer ones, or closed). */
void bf_upstream_pool_put(struct bf_upstream_pool *p, int fd, const char *host, int port,
			  const char *resolved);

/* Closes the connections unused for idle_seconds: the proxy's threads
 * call it each quiet second, so that an origin's closed connections do
 * not hold a descriptor each until the bottle's next request. */
void bf_upstream_pool_prune(struct bf_upstream_pool *p);

/* Closes every kept connection; `close_pool` keeps none after. */
void bf_upstream_pool_flush(struct bf_upstream_pool *p, bool close_pool);

void bf_upstream_pool_destroy(struct bf_upstream_pool *p);

#endif
