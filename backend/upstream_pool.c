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
		bool stale;
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
		stale = k.generation != p->generation;
		pthread_mutex_unlock(&p->lock);
		if (k.fd < 0)
			return -1;
		if (!stale && still_usable(&k, idle_seconds)) {
			strlcpy(resolved, k.resolved, resolved_len);
			return k.fd;
		}
		close(k.fd);
	}
}

unsigned bf_upstream_pool_generation(struct bf_upstream_pool *p)
{
	unsigned g;

	pthread_mutex_lock(&p->lock);
	g = p->generation;
	pthread_mutex_unlock(&p->lock);
	return g;
}

void bf_upstream_pool_put(struct bf_upstream_pool *p, int fd, const char *host, int port,
			  const char *resolved, unsigned generation)
{
	struct bf_upstream_kept k = { .fd = fd, .port = port, .generation = generation },
				evicted = { .fd = -1 };

	if (strlcpy(k.host, host, sizeof(k.host)) >= sizeof(k.host)) {
		close(fd);
		return;
	}
	strlcpy(k.resolved, resolved, sizeof(k.resolved));
	clock_gettime(CLOCK_MONOTONIC, &k.since);
	pthread_mutex_lock(&p->lock);
	if (p->closed || generation != p->generation) {
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
		if (seconds_since(&p->kept[i].since) >= p->idle_seconds ||
		    p->kept[i].generation != p->generation)
			out[n_out++] = p->kept[i].fd;
		else
			p->kept[kept++] = p->kept[i];
	}
	p->n = kept;
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n_out; i++)
		close(out[i]);
}

void bf_upstream_pool_forget(struct bf_upstream_pool *p, bool close_pool)
{
	pthread_mutex_lock(&p->lock);
	p->generation++;
	if (close_pool)
		p->closed = true;
	pthread_mutex_unlock(&p->lock);
}

void bf_upstream_pool_destroy(struct bf_upstream_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		close(p->kept[i].fd);
	p->n = 0;
	pthread_mutex_destroy(&p->lock);
}
