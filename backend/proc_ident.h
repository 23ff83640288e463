/* Who a pid is: what re-attach, signals and exec check before they act on
 * a recorded pid, since a pid alone may have been reused by anyone. */
#ifndef BOTTLEFS_PROC_IDENT_H
#define BOTTLEFS_PROC_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct bf_proc_ident {
	pid_t ppid;
	unsigned long long start;       /* clock ticks after boot */
	uid_t uid;                      /* owner of /proc/PID (real uid) */
	unsigned long long exe_dev, exe_ino;
	unsigned long long userns;      /* inode of /proc/PID/ns/user */
};

/* Parses the text of /proc/PID/stat (comm may hold spaces and parens).
 * 0 or -EINVAL. */
int bf_proc_stat_parse(const char *text, pid_t *ppid, unsigned long long *start);

/* Only the start time and parent (one read of /proc/PID/stat): the cheap
 * check for every exec. 0 or -errno (-ESRCH when gone). */
int bf_proc_start_read(pid_t pid, pid_t *ppid, unsigned long long *start);

/* Reads what /proc says of `pid`. exe_* stay 0 when the executable cannot
 * be read (a process of another user namespace may hide it). 0 or -errno
 * (-ESRCH when the process is gone). */
int bf_proc_ident_read(pid_t pid, struct bf_proc_ident *out);

/* Whether the process whose /proc/PID/status is `text` blocks or
 * catches signal `sig` (its SigBlk and SigCgt masks): 1 or 0, -EINVAL
 * when the text lacks them. */
int bf_proc_status_holds_signal(const char *text, int sig);

/* Whether that process's name (its comm, the status's first line) is
 * `name`. */
bool bf_proc_status_named(const char *text, const char *name);

/* Reads /proc/PID/status into `text`: 0 or -errno (-ESRCH when gone). */
int bf_proc_status_read(pid_t pid, char *text, size_t size);

#endif
