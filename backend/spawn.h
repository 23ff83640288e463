/* Running a host helper program (the OCI runtime) with fixed arguments:
 * no shell, stdin from /dev/null, output to a given fd. */
#ifndef BOTTLEFS_SPAWN_H
#define BOTTLEFS_SPAWN_H

#include <sys/types.h>

/* Runs argv[0] (a full path) and waits; returns the wait status, or -errno
 * if it could not be run. out_fd < 0 sends output to /dev/null. */
int bf_spawn_wait(char *const argv[], int out_fd);

/* Starts `exe` with argv as given (argv[0] may differ) and fds 0..3 set
 * up as given (-1: /dev/null; for fd 3, none); returns the pid or -errno. */
pid_t bf_spawn_exe(const char *exe, char *const argv[], int fd0, int fd1, int fd2, int fd3);

/* Who a program started by bf_spawn_as runs as. */
struct bf_spawn_ids {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;    /* supplementary groups; none when n_groups is 0 */
	size_t n_groups;
};

/* Starts `exe` as `ids` (no_new_privs; no capabilities unless `ids` is
 * root, as for a manifest root wrote) with exactly the
 * environment `envp`, in /, fds 0..3 as given (-1: /dev/null; for fd 3,
 * none) and no other descriptor. Returns the pid or -errno. */
pid_t bf_spawn_as(const char *exe, char *const argv[], char *const envp[], const int fds[4],
		  const struct bf_spawn_ids *ids);

/* Waits for a child, EINTR or not: its wait status, or -errno. */
int bf_wait_child(pid_t pid);

/* The path of one of our own programs: beside the running executable (a
 * build directory), else in BOTTLEFS_LIBEXECDIR. 0, or -ENOENT if neither
 * is executable. */
int bf_libexec_path(const char *name, char *out, size_t len);

/* Finds `prog` in PATH (or the standard sbin/bin dirs); 0 or -ENOENT. */
int bf_find_program(const char *prog, char *path, size_t path_len);

#endif
