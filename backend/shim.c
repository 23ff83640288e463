#include "shim.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc_ident.h"

void bf_shim_report(int fd, const char *fmt, long a, long b)
{
	char line[64];
	int n = snprintf(line, sizeof(line), fmt, a, b);

	if (n > 0 && write(fd, line, (size_t)n) < 0)
		_exit(1);
	close(fd);
}

int bf_shim_read_report(int fd, char *line, size_t len)
{
	size_t got = 0;

	while (got + 1 < len) {
		ssize_t n = read(fd, line + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = '\0';
	return got ? 0 : -EPIPE;
}

void bf_shim_ident_record(struct bf_shim_ident *id)
{
	struct bf_proc_ident p;

	if (bf_proc_ident_read(id->pid, &p) == 0) {
		id->start = p.start;
		id->exe_dev = p.exe_dev;
		id->exe_ino = p.exe_ino;
	}
}

int bf_shim_ident_verify(const struct bf_shim_ident *id, struct bf_error *err)
{
	struct bf_proc_ident p;

	if (id->pid <= 0 || bf_proc_ident_read(id->pid, &p) < 0)
		return bf_error_set(err, ESRCH, "shim %d is gone", (int)id->pid);
	if (!id->start || p.start != id->start || p.uid != 0 || !id->exe_ino ||
	    p.exe_dev != id->exe_dev || p.exe_ino != id->exe_ino)
		return bf_error_set(err, ESRCH, "pid %d is not the shim bottlefs started (start time, owner or executable differ)",
				    (int)id->pid);
	return 0;
}
