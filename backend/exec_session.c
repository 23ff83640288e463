#include "exec_session.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <bsd/string.h>

#include "cleanup.h"
#include "spool_files.h"

#define KILL_WAIT_MS 5000
#define WAIT_SLICE_MS 100
/* Output nobody has read yet is kept up to this much per stream; then
 * the command's pipe fills and it waits for a reader (backpressure), so
 * a command nobody reads cannot fill the host's disk. */
#define SPOOL_UNREAD_MAX (64LL * 1024 * 1024)
/* The most the pump moves at once (and its pipes' size). */
#define PUMP_CHUNK (512 * 1024)
/* A stream's storage is a ring of this size: byte `off` lives at
 * `off % SPOOL_RING`, so the newest output overwrites output that was
 * read long ago. Writing over pages the file already has costs a tenth
 * of filling fresh ones (a stream of 1 GB would otherwise allocate 1 GB of
 * page cache and disk), and the disk a session holds stays bounded. Unread
 * output stays below SPOOL_UNREAD_MAX before each move of at most
 * PUMP_CHUNK, so the ring never overwrites what nobody has read. */
#define SPOOL_RING (SPOOL_UNREAD_MAX + PUMP_CHUNK)

enum session_state { SESSION_NEW, SESSION_RUNNING, SESSION_ENDED, SESSION_FAILED };



struct stream {
	int file;               /* unlinked file: the ring of recent output */
	off_t len;
	off_t reserved;         /* the pump is writing up to here (>= len) */
	int in_flight;          /* spans being spliced out of the ring ... */
	off_t in_flight_min;    /* ... the lowest of which starts here */
	off_t read_to;          /* the furthest any reader has read */
	bool pump_waits;        /* full: the pump waits for a reader */
	bool closed;            /* the command's end of the pipe is closed */
	char last;              /* the last byte, for the one-shot status line */
};

struct bf_exec_session {
	char name[64];
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int refs;
	bool combined;
	enum session_state state;
	char *cmd;
	char reason[256];
	int wait_status;
	pid_t helper;
	pid_t guest;            /* host pid of the command */
	int stdin_fd;           /* a pipe, or the terminal's master */
	int pump_wake;          /* eventfd: a reader made room in a full stream */
	bool pty;
	struct winsize size;
	struct stream streams[2];
};

/* Told of every change of any session (output, a stream's end, the
 * command's end): the FUSE layer then answers the reads it put aside. */
static void (*change_hook)(void);
static void (*output_hook)(void);

void bf_exec_on_change(void (*fn)(void))
{
	change_hook = fn;
}

void bf_exec_on_output(void (*fn)(void))
{
	output_hook = fn;
}

static void changed_locked(struct bf_exec_session *s)
{
	pthread_cond_broadcast(&s->changed);
	if (change_hook)
		change_hook();
}

int bf_exec_new(const char *name, const char *dir, bool combined,
		struct bf_exec_session **out, struct bf_error *err)
{
	struct bf_exec_session *s = calloc(1, sizeof(*s));
	int i;

	if (!s)
		return bf_error_set(err, ENOMEM, "out of memory");
	strlcpy(s->name, name, sizeof(s->name));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	s->refs = 1;
	s->combined = combined;
	s->stdin_fd = -1;
	s->streams[0].file = s->streams[1].file = -1;
	s->pump_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->pump_wake < 0) {
		int e = errno;

		bf_exec_unref(s);
		return bf_error_set(err, e, "eventfd: %s", strerror(e));
	}
	for (i = 0; i < 2; i++) {
		s->streams[i].file = bf_spool_file_get(dir, err);
		if (s->streams[i].file < 0) {
			bf_exec_unref(s);
			return -err->code;
		}
	}
	*out = s;
	return 0;
}

const char *bf_exec_name(const struct bf_exec_session *s)
{
	return s->name;
}

void bf_exec_ref(struct bf_exec_session *s)
{
	pthread_mutex_lock(&s->lock);
	s->refs++;
	pthread_mutex_unlock(&s->lock);
}

void bf_exec_unref(struct bf_exec_session *s)
{
	int i, left;

	pthread_mutex_lock(&s->lock);
	left = --s->refs;
	pthread_mutex_unlock(&s->lock);
	if (left)
		return;
	for (i = 0; i < 2; i++)
		bf_spool_file_put(s->streams[i].file);
	if (s->stdin_fd >= 0)
		close(s->stdin_fd);
	if (s->pump_wake >= 0)
		close(s->pump_wake);
	free(s->cmd);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

struct pump {
	struct bf_exec_session *s;
	int pipes[2];           /* stdout, stderr read ends (-1 if none) */
	int report;             /* helper's report pipe: the wait status */
};

/* The oldest byte of a stream still in its ring. */
static off_t kept_from_locked(const struct stream *st)
{
	return st->reserved > SPOOL_RING ? st->reserved - SPOOL_RING : 0;
}

/* A reader has taken the stream up to `to`: that much no longer holds
 * the command back. A pump waiting on this stream is told at once, not
 * at its next look (a stream read as fast as it comes would otherwise
 * stall each time the pump got SPOOL_UNREAD_MAX ahead). */
static void advance_read_to_locked(struct bf_exec_session *s, struct stream *st, off_t to)
{
	uint64_t one = 1;

	if (to <= st->read_to)
		return;
	st->read_to = to;
	if (st->pump_waits && st->len - st->read_to < SPOOL_UNREAD_MAX) {
		st->pump_waits = false;
		if (write(s->pump_wake, &one, sizeof(one)) < 0) {
			/* the counter is full: a wake-up is pending anyway */
		}
	}
}

/* pread/pwrite of the ring: `len` bytes of the stream at `off`, in two
 * parts where they wrap. Returns 0, or -1 with errno. */
static int ring_io(int fd, char *buf, size_t len, off_t off, bool write)
{
	while (len > 0) {
		off_t pos = off % SPOOL_RING;
		size_t part = (size_t)(SPOOL_RING - pos) < len ? (size_t)(SPOOL_RING - pos) : len;
		ssize_t n = write ? pwrite(fd, buf, part, pos) : pread(fd, buf, part, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Splices `len` bytes the pipe `pipe_fd` holds into the ring at the
 * stream's `off`, in two parts where they wrap. Returns 0, or -1 with
 * errno. */
static int ring_splice_in(int pipe_fd, int file, size_t len, off_t off)
{
	while (len > 0) {
		loff_t pos = off % SPOOL_RING;
		size_t part = (size_t)(SPOOL_RING - pos) < len ? (size_t)(SPOOL_RING - pos) : len;
		ssize_t n = splice(pipe_fd, NULL, file, &pos, part, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;    /* the bytes FIONREAD counted are gone */
			return -1;
		}
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Moves what the command wrote into the stream's ring, past `len`. Only
 * the pump writes the ring and `len`, so it writes without the lock once
 * it has reserved the bytes it overwrites: readers refuse bytes below the
 * reservation's window, and the pump waits for spans still being spliced
 * out of them. Returns what read(2) would: bytes moved, 0 at the end, -1
 * with errno. */
static ssize_t pump_some(struct bf_exec_session *s, int which, int fd, char *buf, size_t size)
{
	struct stream *st = &s->streams[which];
	off_t at = st->len;
	int queued = 0;
	ssize_t n;
	char last;

	/* A pipe's bytes go into the ring by splice(2), copied once, where
	 * read and pwrite copy twice; a terminal's master is no pipe. What
	 * the pipe holds is known first, since the reservation must be. */
	if (s->pty || ioctl(fd, FIONREAD, &queued) < 0 || queued <= 0) {
		n = read(fd, buf, size);
		if (n <= 0)
			return n;
		queued = 0;
	} else {
		n = (size_t)queued < size ? queued : (ssize_t)size;
	}
	pthread_mutex_lock(&s->lock);
	while (st->in_flight && st->in_flight_min < at + n - SPOOL_RING)
		pthread_cond_wait(&s->changed, &s->lock);
	st->reserved = at + n;
	pthread_mutex_unlock(&s->lock);
	if (queued ? ring_splice_in(fd, st->file, (size_t)n, at) < 0 ||
			     pread(st->file, &last, 1, (at + n - 1) % SPOOL_RING) != 1
		   : ring_io(st->file, buf, (size_t)n, at, true) < 0)
		return -1;
	if (!queued)
		last = buf[n - 1];
	pthread_mutex_lock(&s->lock);
	st->len = at + n;
	st->last = last;
	if (output_hook)
		pthread_cond_broadcast(&s->changed);
	else
		changed_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (output_hook)
		output_hook();
	return n;
}

/* Moves the command's output into the session's files as it comes, and
 * learns its end from the helper. One thread per session: sessions are few
 * and this keeps each stream's order without any shared loop. */
static void *pump_output(void *arg)
{
	struct pump *p = arg;
	struct bf_exec_session *s = p->s;
	struct pollfd fds[4];
	cleanup_free char *buf = malloc(PUMP_CHUNK);
	int status = 0, open_fds = 3, i;
	bool have_status = false;

	for (i = 0; i < 2; i++) {
		fds[i] = (struct pollfd){ p->pipes[i], POLLIN, 0 };
		/* Fewer, larger moves (the default pipe holds 64 KiB). */
		if (p->pipes[i] >= 0 && !s->pty)
			fcntl(p->pipes[i], F_SETPIPE_SZ, PUMP_CHUNK);
	}
	if (!buf)
		open_fds = 0;   /* cannot pump: the session fails below */
	fds[2] = (struct pollfd){ p->report, POLLIN, 0 };
	fds[3] = (struct pollfd){ s->pump_wake, POLLIN, 0 };
	for (i = 0; i < 3; i++)
		if (fds[i].fd < 0)
			open_fds--;
	while (open_fds > 0) {
		pthread_mutex_lock(&s->lock);
		for (i = 0; i < 2; i++) {
			struct stream *st = &s->streams[i];
			bool full = st->len - st->read_to >= SPOOL_UNREAD_MAX;

			fds[i].events = full ? 0 : POLLIN;
			/* Only a reader makes room: it wakes us then. */
			st->pump_waits = full && fds[i].fd >= 0;
		}
		pthread_mutex_unlock(&s->lock);
		if (poll(fds, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[3].revents) {
			uint64_t wakes;

			if (read(s->pump_wake, &wakes, sizeof(wakes)) < 0) {
				/* EAGAIN: another look already took it */
			}
		}
		for (i = 0; i < 3; i++) {
			ssize_t n;

			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			if (i < 2) {
				n = pump_some(s, i, fds[i].fd, buf, PUMP_CHUNK);
				/* After a small move, a moment for the writer to
				 * fill the pipe: `head` writes 8 KiB at a time, and
				 * taking each alone costs a round of wake-ups through
				 * pump, reader and FUSE (300 000 context switches a
				 * second, a third of the throughput). What came is
				 * already out to readers; only the next move waits. */
				if (n > 0 && n < PUMP_CHUNK / 2) {
					struct timespec pause = { 0, 50000 };

					nanosleep(&pause, NULL);
				}
			} else
				n = read(fds[i].fd, &status, sizeof(status));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			/* A terminal's master reads EIO once no process holds the
			 * terminal: the end of its output, as EOF is a pipe's. */
			if (n > 0 && i < 2)
				continue;
			if (n == (ssize_t)sizeof(status) && i == 2)
				have_status = true;
			close(fds[i].fd);
			fds[i].fd = -1;
			open_fds--;
			if (i < 2) {
				pthread_mutex_lock(&s->lock);
				s->streams[i].closed = true;
				changed_locked(s);
				pthread_mutex_unlock(&s->lock);
			}
		}
	}
	while (waitpid(s->helper, NULL, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&s->lock);
	s->streams[0].closed = s->streams[1].closed = true;
	if (have_status) {
		s->wait_status = status;
		s->state = SESSION_ENDED;
	} else {
		s->state = SESSION_FAILED;
		strlcpy(s->reason, "the helper that joined the guest died", sizeof(s->reason));
	}
	changed_locked(s);
	pthread_mutex_unlock(&s->lock);
	free(p);
	bf_exec_unref(s);
	return NULL;
}

static void close_pair(int fds[2])
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	fds[0] = fds[1] = -1;
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : (ssize_t)got;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* `reason` may be err->msg itself: kept in the session first, and the
 * error set from that copy. */
static int fail_start(struct bf_exec_session *s, int r, const char *reason, struct bf_error *err)
{
	char why[sizeof(s->reason)];

	strlcpy(why, reason, sizeof(why));
	pthread_mutex_lock(&s->lock);
	s->state = SESSION_FAILED;
	strlcpy(s->reason, why, sizeof(s->reason));
	s->streams[0].closed = s->streams[1].closed = true;
	changed_locked(s);
	pthread_mutex_unlock(&s->lock);
	return bf_error_set(err, -r, "%s", why);
}

int bf_exec_start(struct bf_exec_session *s, const char *cmd, bf_exec_spawn_fn spawn, void *ctx,
		  struct bf_error *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, report[2] = { -1, -1 };
	struct bf_exec_io x = { -1, -1, -1, NULL, NULL };
	struct winsize size;
	int master = -1;
	struct pump *p = NULL;
	pthread_attr_t attr;
	pthread_t thread;
	pid_t guest = 0;
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->state != SESSION_NEW) {
		pthread_mutex_unlock(&s->lock);
		return bf_error_set(err, EBUSY, "session %s was started already", s->name);
	}
	s->state = SESSION_RUNNING;
	s->cmd = strdup(cmd);
	size = s->size;
	if (s->pty)
		s->streams[BF_EXEC_STDERR].closed = true;
	pthread_mutex_unlock(&s->lock);
	if (!s->cmd) {
		r = -ENOMEM;
		goto fail;
	}
	if (s->pty) {
		/* One file, the master, serves as stdin and as stdout. */
		x.pty_size = &size;
		x.pty_master = &master;
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
		   (!s->combined && pipe2(errp, O_CLOEXEC) < 0)) {
		r = -errno;
		goto fail;
	} else {
		x.stdin_fd = in[0];
		x.stdout_fd = out[1];
		x.stderr_fd = s->combined ? out[1] : errp[1];
	}
	if (pipe2(report, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	s->helper = spawn(ctx, cmd, &x, report[1], err);
	if (s->helper < 0) {
		r = s->helper;
		close_pair(in);
		close_pair(out);
		close_pair(errp);
		close_pair(report);
		return fail_start(s, r, err->msg, err);
	}
	if (s->pty) {
		in[1] = master;
		out[0] = fcntl(master, F_DUPFD_CLOEXEC, 0);
		if (out[0] < 0)
			kill(s->helper, SIGKILL);   /* seen below as a failed entry */
	}
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	close(report[1]);
	in[0] = out[1] = errp[1] = report[1] = -1;
	pthread_mutex_lock(&s->lock);
	s->stdin_fd = in[1];
	pthread_mutex_unlock(&s->lock);
	if (read_full(report[0], &guest, sizeof(guest)) != (ssize_t)sizeof(guest)) {
		r = -ESRCH;
		waitpid(s->helper, NULL, 0);
		if (out[0] >= 0)
			close(out[0]);
		if (errp[0] >= 0)
			close(errp[0]);
		close(report[0]);
		return fail_start(s, r, "could not enter the guest (did it stop?)", err);
	}
	p = malloc(sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto fail;
	}
	*p = (struct pump){ s, { out[0], errp[0] }, report[0] };
	pthread_mutex_lock(&s->lock);
	s->guest = guest;
	s->refs++;      /* the pump's */
	pthread_mutex_unlock(&s->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	r = pthread_create(&thread, &attr, pump_output, p);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		/* Without a pump nobody would see it end: take it down. */
		kill(-guest, SIGKILL);
		waitpid(s->helper, NULL, 0);
		free(p);
		bf_exec_unref(s);
		return fail_start(s, -EAGAIN, "cannot start an output thread", err);
	}
	return 0;
fail:
	close_pair(in);
	close_pair(out);
	close_pair(errp);
	close_pair(report);
	return fail_start(s, r, strerror(-r), err);
}

bool bf_exec_started(struct bf_exec_session *s)
{
	bool started;

	pthread_mutex_lock(&s->lock);
	started = s->state != SESSION_NEW;
	pthread_mutex_unlock(&s->lock);
	return started;
}

static void status_text_locked(struct bf_exec_session *s, char *out, size_t len)
{
	switch (s->state) {
	case SESSION_NEW:
		snprintf(out, len, "new\n");
		break;
	case SESSION_RUNNING:
		snprintf(out, len, "running\n");
		break;
	case SESSION_FAILED:
		snprintf(out, len, "failed: %s\n", s->reason);
		break;
	default:
		if (WIFSIGNALED(s->wait_status))
			snprintf(out, len, "killed %d\n", WTERMSIG(s->wait_status));
		else
			snprintf(out, len, "exited %d\n", WEXITSTATUS(s->wait_status));
	}
}

static bool ended_locked(const struct bf_exec_session *s)
{
	return s->state == SESSION_ENDED || s->state == SESSION_FAILED;
}

bool bf_exec_read_ready(struct bf_exec_session *s, enum bf_exec_stream stream, off_t off)
{
	struct stream *st = &s->streams[stream];
	bool ready;

	pthread_mutex_lock(&s->lock);
	/* A reader that asks at `off` is past what lies before it (it may
	 * have seeked there): that much no longer holds the command back. */
	advance_read_to_locked(s, st, off < st->len ? off : st->len);
	ready = off < st->len || (st->closed && (!s->combined || ended_locked(s)));
	pthread_mutex_unlock(&s->lock);
	return ready;
}

bool bf_exec_ended(struct bf_exec_session *s)
{
	bool ended;

	pthread_mutex_lock(&s->lock);
	ended = ended_locked(s);
	pthread_mutex_unlock(&s->lock);
	return ended;
}

/* One bounded wait on the session's condition; false once interrupted. */
static bool wait_slice_locked(struct bf_exec_session *s, bool (*interrupted)(void))
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += WAIT_SLICE_MS * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->changed, &s->lock, &deadline);
	return !(interrupted && interrupted());
}

ssize_t bf_exec_read(struct bf_exec_session *s, enum bf_exec_stream stream, char *buf,
		     size_t size, off_t off, bool (*interrupted)(void))
{
	struct stream *st = &s->streams[stream];
	ssize_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (off < kept_from_locked(st)) {
			n = -ENODATA;
			break;
		}
		if (off < st->len) {
			size_t want = (size_t)(st->len - off) < size ? (size_t)(st->len - off) : size;

			/* Under the lock: the pump reserves no new bytes meanwhile. */
			n = ring_io(st->file, buf, want, off, false) < 0 ? -errno : (ssize_t)want;
			if (n > 0)
				advance_read_to_locked(s, st, off + n);
			break;
		}
		if (st->closed && (!s->combined || ended_locked(s))) {
			if (s->combined) {
				/* The one-shot form ends with its status line. */
				char line[300], text[320];
				size_t len, skip = (size_t)(off - st->len);

				status_text_locked(s, line, sizeof(line));
				snprintf(text, sizeof(text), "%s%s",
					 st->len && st->last != '\n' ? "\n" : "", line);
				len = strlen(text);
				if (skip < len) {
					n = (ssize_t)((len - skip) < size ? len - skip : size);
					memcpy(buf, text + skip, (size_t)n);
				}
			}
			break;
		}
		if (!wait_slice_locked(s, interrupted)) {
			n = -EINTR;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

ssize_t bf_exec_read_span(struct bf_exec_session *s, enum bf_exec_stream stream, size_t size,
			  off_t off, int *fd, off_t *pos)
{
	struct stream *st = &s->streams[stream];
	ssize_t n = -EAGAIN;

	pthread_mutex_lock(&s->lock);
	if (off < kept_from_locked(st)) {
		n = -ENODATA;
	} else if (off < st->len) {
		off_t to_wrap = SPOOL_RING - off % SPOOL_RING;

		n = (ssize_t)((size_t)(st->len - off) < size ? (size_t)(st->len - off) : size);
		if (n > to_wrap)
			n = (ssize_t)to_wrap;   /* a short read; the next starts at 0 */
		*fd = st->file;
		*pos = off % SPOOL_RING;
		advance_read_to_locked(s, st, off + n);
		if (!st->in_flight || off < st->in_flight_min)
			st->in_flight_min = off;
		st->in_flight++;
	} else if (st->closed && !s->combined) {
		n = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

void bf_exec_read_span_done(struct bf_exec_session *s, enum bf_exec_stream stream)
{
	pthread_mutex_lock(&s->lock);
	if (--s->streams[stream].in_flight == 0)
		pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

off_t bf_exec_size(struct bf_exec_session *s, enum bf_exec_stream stream)
{
	off_t len;

	pthread_mutex_lock(&s->lock);
	len = s->streams[stream].len;
	pthread_mutex_unlock(&s->lock);
	return len;
}

ssize_t bf_exec_write_stdin(struct bf_exec_session *s, const char *data, size_t len)
{
	int fd;
	ssize_t n;

	pthread_mutex_lock(&s->lock);
	fd = s->stdin_fd >= 0 ? dup(s->stdin_fd) : -1;
	pthread_mutex_unlock(&s->lock);
	if (fd < 0)
		return -EPIPE;
	n = write(fd, data, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

static struct winsize size_of(unsigned cols, unsigned rows)
{
	return (struct winsize){ .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
}

static void close_stdin_locked(struct bf_exec_session *s)
{
	if (s->stdin_fd >= 0)
		close(s->stdin_fd);
	s->stdin_fd = -1;
}

int bf_exec_set_pty(struct bf_exec_session *s, unsigned cols, unsigned rows, struct bf_error *err)
{
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (s->state != SESSION_NEW) {
		r = bf_error_set(err, EBUSY, "session %s was started already: a terminal is asked for before cmd",
				 s->name);
	} else {
		s->pty = true;
		s->size = size_of(cols, rows);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int bf_exec_resize(struct bf_exec_session *s, unsigned cols, unsigned rows, struct bf_error *err)
{
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->pty) {
		r = bf_error_set(err, ENOTTY, "session %s has no terminal (write \"pty COLSxROWS\" before cmd)",
				 s->name);
	} else {
		s->size = size_of(cols, rows);
		/* Before the start the size waits for it; after the end there
		 * is nobody to tell. */
		if (s->stdin_fd >= 0 && ioctl(s->stdin_fd, TIOCSWINSZ, &s->size) < 0)
			r = bf_error_set(err, errno, "resize: %s", strerror(errno));
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int bf_exec_eof(struct bf_exec_session *s, struct bf_error *err)
{
	struct termios t;
	int fd;

	pthread_mutex_lock(&s->lock);
	if (s->state != SESSION_RUNNING) {
		pthread_mutex_unlock(&s->lock);
		return bf_error_set(err, ESRCH, "session %s is not running", s->name);
	}
	if (!s->pty) {
		close_stdin_locked(s);
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	fd = dup(s->stdin_fd);
	pthread_mutex_unlock(&s->lock);
	if (fd < 0)
		return bf_error_set(err, errno, "eof: %s", strerror(errno));
	/* The master reads the terminal's settings; the character the
	 * command set as its EOF (^D unless changed) is what ends a line
	 * discipline's read with nothing. */
	if (tcgetattr(fd, &t) < 0 || write(fd, &t.c_cc[VEOF], 1) != 1) {
		int e = errno;

		close(fd);
		return bf_error_set(err, e, "eof: %s", strerror(e));
	}
	close(fd);
	return 0;
}

void bf_exec_stdin_released(struct bf_exec_session *s)
{
	pthread_mutex_lock(&s->lock);
	if (!s->pty)
		close_stdin_locked(s);
	pthread_mutex_unlock(&s->lock);
}

void bf_exec_close_stdin(struct bf_exec_session *s)
{
	pthread_mutex_lock(&s->lock);
	close_stdin_locked(s);
	pthread_mutex_unlock(&s->lock);
}

int bf_exec_signal(struct bf_exec_session *s, int sig, struct bf_error *err)
{
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (s->state != SESSION_RUNNING || s->guest <= 0)
		r = bf_error_set(err, ESRCH, "session %s is not running", s->name);
	else if (kill(-s->guest, sig) < 0)
		r = bf_error_set(err, errno, "kill: %s", strerror(errno));
	pthread_mutex_unlock(&s->lock);
	return r;
}

void bf_exec_kill_wait(struct bf_exec_session *s)
{
	int waited = 0;

	pthread_mutex_lock(&s->lock);
	if (s->state == SESSION_RUNNING && s->guest > 0)
		kill(-s->guest, SIGKILL);
	while (s->state == SESSION_RUNNING && waited < KILL_WAIT_MS) {
		wait_slice_locked(s, NULL);
		waited += WAIT_SLICE_MS;
	}
	pthread_mutex_unlock(&s->lock);
}

int bf_exec_status(struct bf_exec_session *s, bool wait, bool (*interrupted)(void),
		   struct bf_buf *out)
{
	char line[300];

	pthread_mutex_lock(&s->lock);
	while (wait && !ended_locked(s)) {
		if (!wait_slice_locked(s, interrupted)) {
			pthread_mutex_unlock(&s->lock);
			return -EINTR;
		}
	}
	status_text_locked(s, line, sizeof(line));
	pthread_mutex_unlock(&s->lock);
	bf_buf_puts(out, line);
	return bf_buf_finish(out);
}

int bf_exec_cmd(struct bf_exec_session *s, struct bf_buf *out)
{
	pthread_mutex_lock(&s->lock);
	if (s->cmd) {
		bf_buf_puts(out, s->cmd);
		bf_buf_putc(out, '\n');
	}
	pthread_mutex_unlock(&s->lock);
	return bf_buf_finish(out);
}
