#include "spool_files.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Enough for the sessions a burst of one-shot commands has in flight;
 * each kept file is an empty inode, nothing more. */
#define SPOOL_KEPT_MAX 16

static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int fd;
	dev_t dev;
} kept[SPOOL_KEPT_MAX];
static int n_kept;

int bf_spool_file_get(const char *dir, struct bf_error *err)
{
	struct stat st;
	int fd = -1, i;

	if (stat(dir, &st) < 0)
		return bf_error_set(err, errno, "cannot store output in %s: %s", dir, strerror(errno));
	pthread_mutex_lock(&kept_lock);
	for (i = n_kept - 1; i >= 0; i--)
		if (kept[i].dev == st.st_dev) {
			fd = kept[i].fd;
			kept[i] = kept[--n_kept];
			break;
		}
	pthread_mutex_unlock(&kept_lock);
	if (fd >= 0)
		return fd;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return bf_error_set(err, errno, "cannot store output in %s: %s", dir, strerror(errno));
	return fd;
}

void bf_spool_file_put(int fd)
{
	struct stat st;

	if (fd < 0)
		return;
	/* Emptied before it is kept: the next session, maybe another
	 * bottle's, must not read what this one held. */
	if (ftruncate(fd, 0) < 0 || fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&kept_lock);
	if (n_kept < SPOOL_KEPT_MAX) {
		kept[n_kept].fd = fd;
		kept[n_kept].dev = st.st_dev;
		n_kept++;
		fd = -1;
	}
	pthread_mutex_unlock(&kept_lock);
	if (fd >= 0)
		close(fd);
}

void bf_spool_files_drop(void)
{
	pthread_mutex_lock(&kept_lock);
	while (n_kept > 0)
		close(kept[--n_kept].fd);
	pthread_mutex_unlock(&kept_lock);
}
