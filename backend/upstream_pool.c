#include "upstream_pool.h"

#include <poll.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <bsd/string.h>

void bf_upstream_pool_init(struct bf_upstream_pool *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->idle_seconds = BF_UPSTREAM_IDLE_SECONDS;
}

static double seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Readable while unused means the origin closed it, or sent what no
 * request asked for: either way it serves no other request. */
static bool still_usable(const struct bf_upstream_kept *k, int idle_seconds)
{
	struct pollfd pf = { k->fd, POLLIN | POLLRDHUP, 0 };

	return seconds_since(&k->since) < idle_seconds && poll(&pf, 1, 0) == 0;
}

int bf_upstream_pool_take(struct bf_upstream_pool *p, const char *host, int port, char *resolved,
			  size_t resolved_len)
{
	for (;;) {
		struct bf_upstream_kept k = { .fd = -1 };
		int idle_seconds;
		size_t i;

		pthread_mutex_lock(&p->lock);
		/* The newest first: the least likely to have been closed. */
		for (i = p->n; i-- > 0;)
			if (p->kept[i].port == port && strcasecmp(p->kept[i].host, host) == 0) {
				k = p->kept[i];
				memmove(&p->kept[i], &p->kept[i + 1], (p->n - i - 1) * sizeof(k));
				p->n--;
				break;
			}
		idle_seconds = p->idle_seconds;
		pthread_mutex_unlock(&p->lock);
		if (k.fd < 0)
			return -1;
		if (still_usable(&k, idle_seconds)) {
			strlcpy(resolved, k.resolved, resolved_len);
			return k.fd;
		}
		close(k.fd);
	}
}

void bf_upstream_pool_put(struct bf_upstream_pool *p, int fd, const char *host, int port,
			  const char *resolved)
{
	struct bf_upstream_kept k = { .fd = fd, .port = port }, evicted = { .fd = -1 };

	if (strlcpy(k.host, host, sizeof(k.host)) >= sizeof(k.host)) {
		close(fd);
		return;
	}
	strlcpy(k.resolved, resolved, sizeof(k.resolved));
	clock_gettime(CLOCK_MONOTONIC, &k.since);
	pthread_mutex_lock(&p->lock);
	if (p->closed) {
		evicted.fd = fd;
	} else {
		if (p->n == BF_UPSTREAM_POOL_MAX) {     /* the oldest goes */
			evicted = p->kept[0];
			memmove(&p->kept[0], &p->kept[1], (p->n - 1) * sizeof(k));
			p->n--;
		}
		p->kept[p->n++] = k;
	}
	pthread_mutex_unlock(&p->lock);
	if (evicted.fd >= 0)
		close(evicted.fd);
}

void bf_upstream_pool_prune(struct bf_upstream_pool *p)
{
	int out[BF_UPSTREAM_POOL_MAX];
	size_t n_out = 0, i, kept = 0;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->n; i++) {
		if (seconds_since(&p->kept[i].since) >= p->idle_seconds)
			out[n_out++] = p->kept[i].fd;
		else
			p->kept[kept++] = p->kept[i];
	}
	p->n = kept;
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n_out; i++)
		close(out[i]);
}

void bf_upstream_pool_flush(struct bf_upstream_pool *p, bool close_pool)
{
	struct bf_upstream_kept out[BF_UPSTREAM_POOL_MAX];
	size_t n, i;

	pthread_mutex_lock(&p->lock);
	n = p->n;
	memcpy(out, p->kept, n * sizeof(out[0]));
	p->n = 0;
	if (close_pool)
		p->closed = true;
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++)
		close(out[i].fd);
}

void bf_upstream_pool_destroy(struct bf_upstream_pool *p)
{
	bf_upstream_pool_flush(p, true);
	pthread_mutex_destroy(&p->lock);
}
