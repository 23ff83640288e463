/* bottlefs-vm-exec: the host end of one command in a microvm bottle. The
 * daemon starts it as an exec session's helper (spawn.h): fds 0-2 are the
 * session's pipes, fd 3 its report pipe.
 *
 *   bottlefs-vm-exec MUX_SOCKET FIELD...
 *
 * FIELDs are the command's EXEC fields (uid=, gid=, cwd=, env=, arg=). It
 * connects to the bottle's shim and runs the command in the guest. On the
 * host a stand-in process stands for it: the leader of a process group of
 * its own, whose pid is reported as the command's, so that the session's
 * signals reach it. It does nothing but wait; the signal that ends it,
 * SIGKILL included, is passed on to the command in the guest. Signals
 * the stand-in ignores by default (CONT, WINCH) are not passed on. When
 * this helper ends, even by SIGKILL, the shim sees its socket close and
 * the guest ends the command.
 *
 * With a pty= field, fds 0-2 are a raw host terminal whose master the
 * session holds: the helper makes it its controlling terminal, so that a
 * resize of the master (SIGWINCH) is passed on to the guest's terminal. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm_frame.h"
#include "vm_link.h"

#define REPORT_FD 3
#define MINE 2          /* the channel this helper's session has with the shim */

static int chld_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;

	if (write(chld_pipe[1], sig == SIGWINCH ? "w" : "c", 1) < 0) {
		/* full: a wake-up is pending anyway */
	}
	errno = saved;
}

/* The command's stand-in on the host: default dispositions, waits. */
static pid_t start_stand_in(void)
{
	pid_t pid = fork();
	sigset_t none;
	int sig;

	if (pid != 0) {
		if (pid > 0)
			setpgid(pid, pid);     /* before anyone can signal its group */
		return pid;
	}
	setpgid(0, 0);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;)
		pause();
}

static int connect_mux(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void report_pid(pid_t stand_in, bool *reported)
{
	if (!*reported && write(REPORT_FD, &stand_in, sizeof(stand_in)) == (ssize_t)sizeof(stand_in))
		*reported = true;
}

int main(int argc, char **argv)
{
	static struct bf_vm_link link;
	struct bf_buf exec = { 0 };
	bool reported = false, in_open = true, pty = false;
	int mux, i, status = -1;
	pid_t stand_in;

	if (argc < 3) {
		fputs("bottlefs-vm-exec: not for direct use\n", stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(chld_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return 1;
	for (i = 2; i < argc; i++)
		if (strncmp(argv[i], "pty=", 4) == 0)
			pty = true;
	/* Its own session, the terminal its controlling one: the session's
	 * resize of the master signals this process group. */
	if (pty && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0)) {
		fprintf(stderr, "bottlefs-vm-exec: cannot take the terminal: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGCHLD, on_signal);
	signal(SIGWINCH, on_signal);
	stand_in = start_stand_in();
	if (stand_in < 0)
		return 1;
	for (i = 2; i < argc; i++)
		bf_buf_append(&exec, argv[i], strlen(argv[i]) + 1);
	if (bf_buf_finish(&exec) < 0)
		return 1;
	mux = connect_mux(argv[1]);
	if (mux < 0 || bf_vm_link_send(mux, MINE, BF_VM_EXEC, exec.data, (uint32_t)exec.len) < 0) {
		fprintf(stderr, "bottlefs-vm-exec: cannot reach the bottle's shim: %s\n", strerror(errno));
		bf_buf_free(&exec);
		return 1;       /* no pid reported: the session says it could not start */
	}
	bf_buf_free(&exec);
	bf_vm_link_init(&link, mux);
	for (;;) {
		/* p[3]: the session's output end. Its reader gone (the daemon
		 * killed) is this command's end: nobody can read it any more. */
		struct pollfd p[4] = { { mux, POLLIN, 0 }, { chld_pipe[0], POLLIN, 0 },
				       { in_open && reported ? 0 : -1, POLLIN, 0 }, { 1, 0, 0 } };
		struct bf_vm_frame f;
		int r;

		if (poll(p, 4, -1) < 0 && errno != EINTR)
			break;
		if (p[3].revents & (POLLERR | POLLHUP))
			break;
		if (p[1].revents) {
			char c;
			bool resized = false;
			int st;

			while (read(chld_pipe[0], &c, 1) == 1)
				resized |= c == 'w';
			if (resized && pty) {
				struct winsize ws;

				if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row)
					bf_vm_link_send_u32(mux, MINE, BF_VM_RESIZE,
							    (uint32_t)ws.ws_col << 16 | ws.ws_row);
			}
			/* The stand-in's end is the signal the session sent. */
			if (stand_in > 0 && waitpid(stand_in, &st, WNOHANG) == stand_in) {
				if (WIFSIGNALED(st))
					bf_vm_link_send_u32(mux, MINE, BF_VM_SIGNAL, (uint32_t)WTERMSIG(st));
				stand_in = 0;
			}
		}
		if (p[2].revents) {
			char buf[65536];
			ssize_t n = read(0, buf, sizeof(buf));

			if (n > 0) {
				bf_vm_link_send(mux, MINE, BF_VM_STDIN, buf, (uint32_t)n);
			} else if (n == 0 || errno != EINTR) {
				bf_vm_link_send(mux, MINE, BF_VM_STDIN, NULL, 0);
				in_open = false;
			}
		}
		if (!p[0].revents)
			continue;
		if (bf_vm_link_fill(&link) <= 0)
			break;          /* the shim is gone: the VM with it */
		while ((r = bf_vm_link_next(&link, &f)) > 0) {
			switch (f.type) {
			case BF_VM_STARTED:
				report_pid(stand_in, &reported);
				break;
			case BF_VM_STDOUT:
			case BF_VM_STDERR:
				/* Written before it is acknowledged: the guest
				 * sends no more than our pipes' reader takes. */
				write_all(f.type == BF_VM_STDOUT ? 1 : 2, f.data, f.len);
				bf_vm_link_send_u32(mux, MINE, BF_VM_ACK, f.len);
				break;
			case BF_VM_FAILED:
				report_pid(stand_in, &reported);
				write_all(2, "bottlefs: ", 10);
				write_all(2, f.data, f.len);
				write_all(2, "\n", 1);
				break;
			case BF_VM_EXIT:
				status = (int)bf_vm_frame_u32(&f);
				break;
			default:
				break;
			}
		}
		if (r < 0 || status >= 0)
			break;
	}
	if (stand_in > 0) {
		kill(stand_in, SIGKILL);
		waitpid(stand_in, NULL, 0);
	}
	if (status < 0)
		return 1;
	close(1);
	close(2);
	report_pid(stand_in, &reported);
	return write(REPORT_FD, &status, sizeof(status)) == (ssize_t)sizeof(status) ? 0 : 1;
}
