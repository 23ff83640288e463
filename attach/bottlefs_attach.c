/* bottlefs-attach: a terminal on an exec session with a pty
 * (bottlefs(8), TERMINALS). Everything goes through the session's files,
 * so it works wherever the mount is visible: keystrokes are written to
 * stdin as they come (raw mode), the output is read from stdout as the
 * command writes it, a window change becomes "resize COLSxROWS" in ctl,
 * and the detach key (^] unless -e says otherwise) leaves the command
 * running. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_DETACH 0x1d     /* ^] */

struct attach {
	int dir;                /* the session directory */
	int stdin_fd, stdout_fd;
	int ended[2];           /* the output reader says: the command ended */
	int winch[2];           /* SIGWINCH, from its handler */
	int detach;             /* the detach byte, or -1 for none */
};

static struct termios saved_tty;
static bool tty_raw;
static int winch_write_fd = -1;

static void restore_tty(void)
{
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tty);
	tty_raw = false;
}

static void on_winch(int sig)
{
	int saved = errno;

	(void)sig;
	if (write(winch_write_fd, "w", 1) < 0) {
		/* A full pipe already holds a pending resize. */
	}
	errno = saved;
}

static void usage(void)
{
	fprintf(stderr, "usage: bottlefs-attach [-e KEY] [-c COMMAND] MNT/NAME/exec/SESSION\n"
			"  -e KEY      detach key: ^X notation (default ^]), or \"none\"\n"
			"  -c COMMAND  for a new session: the command (default: the guest's $SHELL)\n");
	exit(2);
}

/* "^]", "^a" -> the control byte; "none" -> -1. */
static int parse_key(const char *s)
{
	if (strcmp(s, "none") == 0)
		return -1;
	if (s[0] == '^' && s[1] && !s[2] && ((s[1] >= '@' && s[1] <= '_') || (s[1] >= 'a' && s[1] <= 'z')))
		return (s[1] & 0x1f);
	fprintf(stderr, "bottlefs-attach: bad detach key \"%s\": use ^X or none\n", s);
	exit(2);
}

/* Writes one whole message to a session file; the write's error is the
 * session's answer (bottlefs(8), exec/S/ctl). */
static int write_file(int dir, const char *name, const char *text)
{
	int fd = openat(dir, name, O_WRONLY | O_CLOEXEC), r = 0;
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		r = -errno;
	close(fd);
	return r;
}

static int read_file(int dir, const char *name, char *buf, size_t size)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static void window_size(unsigned *cols, unsigned *rows)
{
	struct winsize ws;

	*cols = 80;
	*rows = 24;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

static int send_size(int dir, unsigned cols, unsigned rows)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "resize %ux%u\n", cols, rows);
	return write_file(dir, "ctl", msg);
}

static bool write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* The output, as it comes: a read of stdout waits for more until the
 * command has ended, then reads 0. */
static void *relay_output(void *arg)
{
	struct attach *a = arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(a->stdout_fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || !write_all(STDOUT_FILENO, buf, (size_t)n))
			break;
	}
	if (write(a->ended[1], "e", 1) < 0) {
		/* The main loop also ends when this pipe closes. */
	}
	close(a->ended[1]);
	return NULL;
}

/* Keystrokes to the command until the detach key, the command's end or
 * the end of our input. Returns true if the user detached. */
static bool relay_input(struct attach *a)
{
	struct pollfd fds[3] = {
		{ a->ended[0], POLLIN, 0 }, { a->winch[0], POLLIN, 0 }, { STDIN_FILENO, POLLIN, 0 },
	};
	char buf[4096];

	for (;;) {
		ssize_t n;
		char *key;

		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (fds[0].revents)
			return false;
		if (fds[1].revents) {
			unsigned cols, rows;

			if (read(a->winch[0], buf, sizeof(buf)) < 0 && errno != EINTR)
				return false;
			window_size(&cols, &rows);
			send_size(a->dir, cols, rows);
		}
		if (!fds[2].revents)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Input ended (not a terminal): only the output is left. */
			fds[2].fd = -1;
			continue;
		}
		key = a->detach >= 0 ? memchr(buf, a->detach, (size_t)n) : NULL;
		if (!write_all(a->stdin_fd, buf, key ? (size_t)(key - buf) : (size_t)n) || key)
			return key != NULL;
	}
}

static int exit_code(int dir)
{
	char status[300];
	int v;

	if (read_file(dir, "wait", status, sizeof(status)) < 0)
		return 1;
	fprintf(stderr, "\r\n[%s]\r\n", status);
	if (sscanf(status, "exited %d", &v) == 1)
		return v;
	if (sscanf(status, "killed %d", &v) == 1)
		return 128 + v;
	return 1;
}

int main(int argc, char **argv)
{
	struct attach a = { .detach = DEFAULT_DETACH };
	const char *command = NULL;
	char status[300];
	unsigned cols, rows;
	pthread_t reader;
	bool detached;
	int opt, r;

	while ((opt = getopt(argc, argv, "e:c:h")) != -1) {
		if (opt == 'e')
			a.detach = parse_key(optarg);
		else if (opt == 'c')
			command = optarg;
		else
			usage();
	}
	if (optind != argc - 1)
		usage();
	a.dir = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a.dir < 0 || read_file(a.dir, "status", status, sizeof(status)) < 0) {
		fprintf(stderr, "bottlefs-attach: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	window_size(&cols, &rows);
	if (strcmp(status, "new") == 0) {
		char cmd[4096];

		snprintf(cmd, sizeof(cmd), "pty %ux%u\n", cols, rows);
		r = write_file(a.dir, "ctl", cmd);
		if (r == 0) {
			snprintf(cmd, sizeof(cmd), "%s\n", command ? command : "exec \"${SHELL:-/bin/sh}\"");
			r = write_file(a.dir, "cmd", cmd);
		}
	} else if (strcmp(status, "running") == 0) {
		/* A size that changes makes the command redraw: one row
		 * less, then the real size. */
		r = send_size(a.dir, cols, rows > 1 ? rows - 1 : rows + 1);
		if (r == 0)
			r = send_size(a.dir, cols, rows);
	} else {
		fprintf(stderr, "bottlefs-attach: session is %s\n", status);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "bottlefs-attach: %s: %s%s\n", argv[optind], strerror(-r),
			r == -ENOTTY ? " (the session has no terminal)" : "");
		return 1;
	}
	a.stdin_fd = openat(a.dir, "stdin", O_WRONLY | O_CLOEXEC);
	a.stdout_fd = openat(a.dir, "stdout", O_RDONLY | O_CLOEXEC);
	if (a.stdin_fd < 0 || a.stdout_fd < 0 || pipe2(a.ended, O_CLOEXEC) < 0 ||
	    pipe2(a.winch, O_CLOEXEC | O_NONBLOCK) < 0) {
		perror("bottlefs-attach");
		return 1;
	}
	/* A running session is joined where its output is now. */
	if (strcmp(status, "running") == 0)
		lseek(a.stdout_fd, 0, SEEK_END);
	winch_write_fd = a.winch[1];
	signal(SIGWINCH, on_winch);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
		struct termios raw = saved_tty;

		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0) {
			tty_raw = true;
			atexit(restore_tty);
		}
	}
	if (pthread_create(&reader, NULL, relay_output, &a) != 0) {
		fprintf(stderr, "bottlefs-attach: cannot start the output relay\n");
		return 1;
	}
	detached = relay_input(&a);
	if (detached) {
		restore_tty();
		fprintf(stderr, "\r\n[detached: %s goes on]\r\n", argv[optind]);
		/* The reader may be waiting in a read of stdout: just go. */
		_exit(0);
	}
	pthread_join(reader, NULL);
	restore_tty();
	return exit_code(a.dir);
}
