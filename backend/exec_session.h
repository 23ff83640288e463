/* Command sessions in a running bottle (NAME/exec/S), after Plan 9's
 * /cmd: a session is made empty, started once with a command, streams its
 * stdout and stderr (kept in unlinked files, so memory stays flat however
 * much a command prints), takes stdin until it is closed, and ends with a
 * status: "exited N" or "killed SIG". */
#ifndef BOTTLEFS_EXEC_SESSION_H
#define BOTTLEFS_EXEC_SESSION_H

#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"

enum bf_exec_stream {
	BF_EXEC_STDOUT,
	BF_EXEC_STDERR,
};

struct bf_exec_session;

/* A new, unstarted session; storage for its output goes in `dir`.
 * `combined`: stderr goes to the stdout stream (the one-shot form). */
int bf_exec_new(const char *name, const char *dir, bool combined,
		struct bf_exec_session **out, struct bf_error *err);
void bf_exec_ref(struct bf_exec_session *s);
void bf_exec_unref(struct bf_exec_session *s);
const char *bf_exec_name(const struct bf_exec_session *s);

/* What a session gives the command: three fds, or (with pty_size) a
 * terminal of that size that the backend makes in the guest, storing its
 * master in *pty_master. */
struct bf_exec_io {
	int stdin_fd, stdout_fd, stderr_fd;
	const struct winsize *pty_size;
	int *pty_master;
};

/* How a backend starts a command in its guest: returns the pid of a
 * helper (our child) that reports on `report_fd` first the command's host
 * pid (a pid_t; the leader of its own process group), then its wait
 * status (an int), and exits; -errno with err set on failure. */
typedef pid_t (*bf_exec_spawn_fn)(void *ctx, const char *cmd, const struct bf_exec_io *io,
				  int report_fd, struct bf_error *err);

/* Starts the command through `spawn`; returns once it runs (or could not
 * be started). */
int bf_exec_start(struct bf_exec_session *s, const char *cmd, bf_exec_spawn_fn spawn, void *ctx,
		  struct bf_error *err);
bool bf_exec_started(struct bf_exec_session *s);
/* Whether a read of `stream` at `off` would answer now (output there, or
 * the stream's end), and whether the command has ended: so that a reader
 * that would wait can be put aside instead of holding a thread. */
bool bf_exec_read_ready(struct bf_exec_session *s, enum bf_exec_stream stream, off_t off);
bool bf_exec_ended(struct bf_exec_session *s);
/* `fn` is called (briefly, with a session lock held) on every change of
 * any session; one hook for the process. */
void bf_exec_on_change(void (*fn)(void));
/* `fn` is called by a session's pump, with no lock held, each time it
 * has added output: it may answer the reads waiting for it from there,
 * a wake-up sooner than through the change hook's thread. With this
 * hook set, new output no longer calls the change hook. */
void bf_exec_on_output(void (*fn)(void));

/* Reads at `off`; blocks while the command may still write there.
 * `interrupted` is polled while waiting (-EINTR when it says so). For the
 * combined stream, the status line follows the output. */
ssize_t bf_exec_read(struct bf_exec_session *s, enum bf_exec_stream stream, char *buf,
		     size_t size, off_t off, bool (*interrupted)(void));
/* The same read, for a reply without copies: how many bytes at `off` are
 * in the stream's storage now (up to `size`), that storage's fd in *fd
 * (valid while the session is referenced) and their place in it in *pos.
 * -EAGAIN where bf_exec_read must serve it (nothing there yet, or the
 * combined stream's status line); 0 at the end of a finished stream. A
 * span > 0 must be ended by bf_exec_read_span_done once it is copied out:
 * until then its bytes are not overwritten. Both reads return -ENODATA for
 * output older than the storage keeps (see SPOOL_RING). */
ssize_t bf_exec_read_span(struct bf_exec_session *s, enum bf_exec_stream stream, size_t size,
			  off_t off, int *fd, off_t *pos);
void bf_exec_read_span_done(struct bf_exec_session *s, enum bf_exec_stream stream);
off_t bf_exec_size(struct bf_exec_session *s, enum bf_exec_stream stream);

/* Before the start: the command gets a terminal of `cols` x `rows`
 * (`pty COLSxROWS` in exec/S/ctl). Its output then all comes on stdout,
 * stderr stays empty, and stdin is the keyboard: it may be opened and
 * closed any number of times, and ends only with bf_exec_eof. */
int bf_exec_set_pty(struct bf_exec_session *s, unsigned cols, unsigned rows, struct bf_error *err);
/* A new terminal size; the command's foreground group gets SIGWINCH. */
int bf_exec_resize(struct bf_exec_session *s, unsigned cols, unsigned rows, struct bf_error *err);
/* The end of input: stdin is closed, or with a terminal its EOF
 * character is typed (the terminal stays open). */
int bf_exec_eof(struct bf_exec_session *s, struct bf_error *err);

ssize_t bf_exec_write_stdin(struct bf_exec_session *s, const char *data, size_t len);
/* A writer of stdin is gone: a pipe is closed (the command reads EOF),
 * a terminal stays open. */
void bf_exec_stdin_released(struct bf_exec_session *s);
void bf_exec_close_stdin(struct bf_exec_session *s);

int bf_exec_signal(struct bf_exec_session *s, int sig, struct bf_error *err);
/* Kills a running command and waits (bounded) for its end. */
void bf_exec_kill_wait(struct bf_exec_session *s);

/* "new", "running", "exited N", "killed SIG" or "failed: REASON", and a
 * newline. With `wait`, blocks until the command has ended. */
int bf_exec_status(struct bf_exec_session *s, bool wait, bool (*interrupted)(void),
		   struct bf_buf *out);
/* The command, and a newline; empty before it is started. */
int bf_exec_cmd(struct bf_exec_session *s, struct bf_buf *out);

#endif
