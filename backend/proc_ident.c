#include "proc_ident.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int bf_proc_stat_parse(const char *text, pid_t *ppid, unsigned long long *start)
{
	/* "PID (COMM) STATE PPID ..." with starttime the 22nd field; comm is
	 * the guest's to choose, so fields are counted after its last ')'. */
	const char *p = strrchr(text, ')');
	unsigned long long v[20];
	char state;
	int n;

	if (!p)
		return -EINVAL;
	n = sscanf(p + 1, " %c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &state, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
		   &v[10], &v[11], &v[12], &v[13], &v[14], &v[15], &v[16], &v[17], &v[18]);
	if (n != 20)
		return -EINVAL;
	*ppid = (pid_t)v[0];   /* field 4 */
	*start = v[18];        /* field 22 */
	return 0;
}

/* Reads /proc/PID/NAME into `text` (NUL-terminated), keeping its fd in
 * *fd_out when asked. 0 or -errno (-ESRCH when the process is gone). */
static int read_proc(pid_t pid, const char *name, char *text, size_t size, int *fd_out)
{
	char path[64];
	int fd;
	ssize_t n;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, text, size - 1);
	if (n <= 0) {
		int e = n == 0 ? ESRCH : errno;

		close(fd);
		return -e;
	}
	text[n] = '\0';
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return 0;
}

static int read_stat(pid_t pid, int *fd_out, pid_t *ppid, unsigned long long *start)
{
	char text[1024];
	int r = read_proc(pid, "stat", text, sizeof(text), fd_out);

	return r < 0 ? r : bf_proc_stat_parse(text, ppid, start);
}

int bf_proc_start_read(pid_t pid, pid_t *ppid, unsigned long long *start)
{
	return read_stat(pid, NULL, ppid, start);
}

int bf_proc_ident_read(pid_t pid, struct bf_proc_ident *out)
{
	char path[64];
	cleanup_close int fd = -1;
	struct stat st;
	int r;

	memset(out, 0, sizeof(*out));
	r = read_stat(pid, &fd, &out->ppid, &out->start);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	out->uid = st.st_uid;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat(path, &st) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	out->userns = (unsigned long long)st.st_ino;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &st) == 0) {
		out->exe_dev = (unsigned long long)st.st_dev;
		out->exe_ino = (unsigned long long)st.st_ino;
	}
	return 0;
}

/* The hex mask after "\nNAME:" (a status line), or -EINVAL. */
static int status_mask(const char *text, const char *name, unsigned long long *mask)
{
	char key[16];
	const char *at;
	char *end;

	snprintf(key, sizeof(key), "\n%s:", name);
	at = strstr(text, key);
	if (!at)
		return -EINVAL;
	errno = 0;
	*mask = strtoull(at + strlen(key), &end, 16);
	if (errno || end == at + strlen(key))
		return -EINVAL;
	return 0;
}

int bf_proc_status_holds_signal(const char *text, int sig)
{
	unsigned long long blocked, caught, bit;

	if (sig < 1 || sig > 64)
		return -EINVAL;
	if (status_mask(text, "SigBlk", &blocked) < 0 || status_mask(text, "SigCgt", &caught) < 0)
		return -EINVAL;
	bit = 1ULL << (sig - 1);
	return ((blocked | caught) & bit) != 0;
}

bool bf_proc_status_named(const char *text, const char *name)
{
	size_t len = strlen(name);

	return strncmp(text, "Name:\t", 6) == 0 && strncmp(text + 6, name, len) == 0 &&
	       text[6 + len] == '\n';
}

int bf_proc_status_read(pid_t pid, char *text, size_t size)
{
	return read_proc(pid, "status", text, size, NULL);
}
