#include "fs_pending.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/string.h>

#include "../backend/manifest.h"

/* Writers of new/ are few at a time; a small fixed table is enough. */
#define PENDING_MAX 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char names[PENDING_MAX][BF_NAME_MAX + 1];

static int find_locked(const char *name)
{
	int i;

	for (i = 0; i < PENDING_MAX; i++)
		if (names[i][0] && strcmp(names[i], name) == 0)
			return i;
	return -1;
}

bool fs_pending_add(const char *name)
{
	bool ok = false;

	pthread_mutex_lock(&lock);
	if (find_locked(name) < 0) {
		for (int i = 0; i < PENDING_MAX && !ok; i++) {
			if (!names[i][0]) {
				strlcpy(names[i], name, sizeof(names[i]));
				ok = true;
			}
		}
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

void fs_pending_remove(const char *name)
{
	int i;

	pthread_mutex_lock(&lock);
	i = find_locked(name);
	if (i >= 0)
		names[i][0] = '\0';
	pthread_mutex_unlock(&lock);
}

bool fs_pending_has(const char *name)
{
	bool found;

	pthread_mutex_lock(&lock);
	found = find_locked(name) >= 0;
	pthread_mutex_unlock(&lock);
	return found;
}

void fs_pending_each(void (*fn)(void *ctx, const char *name), void *ctx)
{
	int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < PENDING_MAX; i++)
		if (names[i][0])
			fn(ctx, names[i]);
	pthread_mutex_unlock(&lock);
}
