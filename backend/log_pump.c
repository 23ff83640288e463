#include "log_pump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bsd/string.h>

int bf_log_pump_open(struct bf_log_pump *lp, const char *path, off_t max)
{
	memset(lp, 0, sizeof(*lp));
	if (strlcpy(lp->path, path, sizeof(lp->path)) >= sizeof(lp->path))
		return -ENAMETOOLONG;
	lp->max = max;
	lp->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	return lp->fd < 0 ? -errno : 0;
}

/* Past the cap the file moves to PATH.1 (the previous .1 goes), and a new
 * one starts; readers of `log` follow (see fs_ops.c). */
static void rotate_if_full(struct bf_log_pump *lp, size_t adding)
{
	char old[sizeof(lp->path) + 2];
	struct stat st;

	if (fstat(lp->fd, &st) < 0 || st.st_size + (off_t)adding <= lp->max)
		return;
	snprintf(old, sizeof(old), "%s.1", lp->path);
	if (rename(lp->path, old) < 0)
		return;
	close(lp->fd);
	lp->fd = open(lp->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

static void write_line(struct bf_log_pump *lp)
{
	char out[BF_LOG_LINE_MAX + 64], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	size_t i, n;
	int head;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	head = snprintf(out, sizeof(out), "%s guest: ", stamp);
	if (head < 0)
		return;
	n = (size_t)head;
	for (i = 0; i < lp->len && n < sizeof(out) - 1; i++) {
		unsigned char c = (unsigned char)lp->line[i];

		out[n++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
	}
	out[n++] = '\n';
	lp->len = 0;
	if (lp->fd < 0)
		return;
	rotate_if_full(lp, n);
	if (lp->fd >= 0 && write(lp->fd, out, n) < 0) {
		/* A full disk loses log lines, never the guest. */
	}
}

void bf_log_pump_feed(struct bf_log_pump *lp, const char *data, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (data[i] == '\n') {
			write_line(lp);
			continue;
		}
		lp->line[lp->len++] = data[i];
		if (lp->len == sizeof(lp->line))
			write_line(lp);
	}
}

void bf_log_pump_flush(struct bf_log_pump *lp)
{
	if (lp->len)
		write_line(lp);
}

void bf_log_pump_close(struct bf_log_pump *lp)
{
	bf_log_pump_flush(lp);
	if (lp->fd >= 0)
		close(lp->fd);
	lp->fd = -1;
}
