/* What the oci and microvm backends' shims share: the one-line start
 * report a shim writes to the daemon, and the identity that proves a pid
 * is still the shim bottlefs started (for re-attach, signals, exec). */
#ifndef BOTTLEFS_SHIM_H
#define BOTTLEFS_SHIM_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

struct json_object;

/* The shim's pid, start time (clock ticks after boot) and executable
 * (device, inode): checked before the pid is trusted. */
struct bf_shim_ident {
	pid_t pid;
	unsigned long long start, exe_dev, exe_ino;
};

/* In the shim: writes the report line (fmt takes two longs) to `fd` and
 * closes it; exits if it cannot be written. */
void bf_shim_report(int fd, const char *fmt, long a, long b);
/* In the daemon: the report line, read until its newline or the shim's
 * end; 0, or -EPIPE if the shim wrote nothing. */
int bf_shim_read_report(int fd, char *line, size_t len);

/* Fills start and executable of id->pid from /proc (left 0 if gone). */
void bf_shim_ident_record(struct bf_shim_ident *id);
/* 0 if id->pid is the recorded shim: root's, the same executable (by
 * inode: an upgrade leaves the old one open), started at the recorded
 * tick; -ESRCH with err set if not. */
int bf_shim_ident_verify(const struct bf_shim_ident *id, struct bf_error *err);
/* The identity in a run record, as monitor_pid, monitor_start,
 * monitor_exe_dev and monitor_exe_ino (older records lack all but the pid:
 * zero, never trusted). */
int bf_shim_ident_save(const struct bf_shim_ident *id, struct json_object *o);
const char *bf_shim_ident_load(struct json_object *o, struct bf_shim_ident *id);

#endif
