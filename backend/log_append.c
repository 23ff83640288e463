#include "log_append.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
}

int bf_log_append(const char *path, off_t max, const char *line)
{
	char stamp[32], old[PATH_MAX];
	time_t now = time(NULL);
	struct stat st;
	struct tm tm;
	int fd = open_log(path), r = 0;

	if (fd < 0)
		return -errno;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (fstat(fd, &st) == 0 && st.st_size + (off_t)strlen(line) + 32 > max &&
	    snprintf(old, sizeof(old), "%s.1", path) < (int)sizeof(old) && rename(path, old) == 0) {
		close(fd);
		fd = open_log(path);
		if (fd < 0)
			return -errno;
	}
	if (dprintf(fd, "%s %s\n", stamp, line) < 0)
		r = -errno;
	close(fd);
	return r;
}
