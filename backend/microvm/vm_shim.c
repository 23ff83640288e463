/* bottlefs-vm-shim: the parent of one microvm bottle's QEMU, in a session
 * of its own, so that the VM neither ends nor loses its record when
 * bottlefs is unmounted or dies (as the oci backend's shim).
 *
 *   bottlefs-vm-shim RUN_DIR LOG_MAX [--virtiofs=VIRTIOFSD:DIR] QEMU [QEMU_ARG]...
 *
 * With --virtiofs it first starts VIRTIOFSD serving DIR on RUN_DIR/vfs.sock
 * (for each QEMU it starts), in a mount namespace of its own where DIR is
 * a read-only, nosuid, nodev bind: the guest's root may remount its view
 * read-write, and the host still refuses every write.
 *
 * It starts QEMU, whose agent port is RUN_DIR/agent.sock, sends the main
 * command (RUN_DIR/main.exec, EXEC fields) once the agent says hello,
 * reports "running QEMU_PID SHIM_PID ACCEL" (or "failed CODE 0") on fd 3
 * (ACCEL: kvm, or tcg, also when KVM was asked for and did not boot the
 * VM in KVM_BOOT_TIMEOUT_S), then:
 *  - writes the main command's output into RUN_DIR/log (log_pump.h) and
 *    its end into RUN_DIR/exit;
 *  - serves RUN_DIR/mux.sock (root's, 0600): each connection is one exec
 *    session (bottlefs-vm-exec) speaking the agent's own frames on its
 *    channel 2, or asks for a signal to the main command (channel 1); the
 *    shim gives each session a channel of the agent's and passes frames
 *    both ways; a connection that closes ends its command in the guest;
 *  - keeps QEMU's console (the guest kernel's messages, and QEMU's own) in
 *    RUN_DIR/console, capped, and in the log as guest lines.
 * It ends when QEMU does (the agent powers off after the main command). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/mount.h>

#include "../exit_file.h"
#include "../log_pump.h"
#include "../mountinfo.h"
#include "../shim.h"
#include "../spawn.h"
#include "vm_frame.h"
#include "vm_link.h"
#include "vm_shim.h"

#define REPORT_FD 3
#define MAX_SESSIONS 48
#define HELPER_CHAN 2
#define CONSOLE_MAX (256 * 1024)
#define BOOT_TIMEOUT_S 120
/* KVM is tried first where /dev/kvm opens, but on some hosts its guests
 * hang or QEMU aborts at once: past this, the VM is started again on TCG. */
#define KVM_BOOT_TIMEOUT_S 15
/* A TCG boot takes 2-3 s here; one that has not answered in this long is
 * started once more before the start fails. */
#define TCG_FIRST_BOOT_S 40
#define POWEROFF_WAIT_S 10

struct session {
	int fd;                 /* -1: free */
	uint32_t chan;          /* the agent's channel; 0 until it asked to run */
	struct bf_vm_link link;
};

static struct session sessions[MAX_SESSIONS];
static uint32_t next_chan = 2;  /* the agent's channel for the next session */
static struct bf_vm_link agent;
static char run_dir[2048];
static int console_fd = -1;
static off_t console_len;
static struct bf_log_pump *console_log;   /* the kernel's messages go to log too */

/* RUN_DIR/NAME; -1 if it does not fit (the backend checks the socket
 * paths' length before it starts us). */
static int run_path(const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", run_dir, name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void console_take(int fd)
{
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0)
		return;
	if (console_log)
		bf_log_pump_feed(console_log, buf, (size_t)n);
	if (console_fd < 0)
		return;
	if (console_len + n > CONSOLE_MAX) {
		/* The newest kernel messages matter most. */
		if (ftruncate(console_fd, 0) == 0)
			console_len = 0;
		lseek(console_fd, 0, SEEK_SET);
	}
	if (write(console_fd, buf, (size_t)n) == n)
		console_len += n;
}

static int listen_mux(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old;

	if (fd < 0)
		return -1;
	if (run_path("mux.sock", sa.sun_path, sizeof(sa.sun_path)) < 0) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	unlink(sa.sun_path);
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

static int connect_agent(pid_t qemu)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int tries;

	if (run_path("agent.sock", sa.sun_path, sizeof(sa.sun_path)) < 0)
		return -1;
	for (tries = 0; tries < 1000; tries++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if (waitpid(qemu, NULL, WNOHANG) != 0)
			return -1;
		usleep(10000);
	}
	return -1;
}

static struct session *session_of_chan(uint32_t chan)
{
	int i;

	for (i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].fd >= 0 && sessions[i].chan == chan)
			return &sessions[i];
	return NULL;
}

static void end_session(struct session *s)
{
	if (s->chan)
		bf_vm_link_send(agent.fd, s->chan, BF_VM_CLOSE, NULL, 0);
	close(s->fd);
	s->fd = -1;
	s->chan = 0;
}

/* A frame of a session's helper, passed to the agent on its channel. */
static void from_session(struct session *s, const struct bf_vm_frame *f)
{
	if (f->chan == BF_VM_CHAN_MAIN) {
		/* The daemon's signal to the main command. */
		if (f->type == BF_VM_SIGNAL)
			bf_vm_link_send(agent.fd, BF_VM_CHAN_MAIN, f->type, f->data, f->len);
		return;
	}
	if (f->chan != HELPER_CHAN)
		return;
	if (f->type == BF_VM_EXEC) {
		if (s->chan)
			return;
		s->chan = next_chan++;
		if (next_chan == 0)
			next_chan = 2;
	}
	if (!s->chan || (f->type != BF_VM_EXEC && f->type != BF_VM_STDIN && f->type != BF_VM_ACK &&
			 f->type != BF_VM_SIGNAL && f->type != BF_VM_RESIZE))
		return;
	bf_vm_link_send(agent.fd, s->chan, f->type, f->data, f->len);
}

/* A frame of the agent: the main command's, or a session's. Returns the
 * main command's wait status once it ends, else -1. */
static int from_agent(const struct bf_vm_frame *f, struct bf_log_pump *lp)
{
	struct session *s;

	if (f->chan == BF_VM_CHAN_MAIN) {
		if (f->type == BF_VM_STDOUT || f->type == BF_VM_STDERR) {
			bf_log_pump_feed(lp, f->data, f->len);
			bf_vm_link_send_u32(agent.fd, BF_VM_CHAN_MAIN, BF_VM_ACK, f->len);
		} else if (f->type == BF_VM_FAILED) {
			bf_log_pump_feed(lp, "bottlefs: ", 10);
			bf_log_pump_feed(lp, f->data, f->len);
			bf_log_pump_feed(lp, "\n", 1);
		} else if (f->type == BF_VM_EXIT) {
			return (int)bf_vm_frame_u32(f);
		}
		return -1;
	}
	s = f->chan >= 2 ? session_of_chan(f->chan) : NULL;
	if (s && bf_vm_link_send(s->fd, HELPER_CHAN, f->type, f->data, f->len) < 0)
		end_session(s);
	if (s && f->type == BF_VM_EXIT) {
		s->chan = 0;    /* ended: nothing to close in the guest */
		close(s->fd);
		s->fd = -1;
	}
	return -1;
}

static void accept_session(int mux)
{
	int fd = accept4(mux, NULL, NULL, SOCK_CLOEXEC), i, size = 4 * BF_VM_WINDOW;

	if (fd < 0)
		return;
	/* Room for a whole window of output, so that a slow helper never
	 * blocks the shim: the guest waits for its acknowledgements. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	for (i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].fd < 0) {
			sessions[i].fd = fd;
			sessions[i].chan = 0;
			bf_vm_link_init(&sessions[i].link, fd);
			return;
		}
	close(fd);
}

/* Frames of the agent until HELLO (the VM booted), or -1. */
static int await_hello(pid_t qemu, int console, int timeout_s)
{
	time_t deadline = time(NULL) + timeout_s;

	while (time(NULL) < deadline) {
		struct pollfd p[2] = { { agent.fd, POLLIN, 0 }, { console, POLLIN, 0 } };
		struct bf_vm_frame f;
		int r;

		/* Asked again and again: the agent's own hello may have gone
		 * out before we were connected, and is then lost. */
		if (bf_vm_link_send(agent.fd, BF_VM_CHAN_AGENT, BF_VM_HELLO, NULL, 0) < 0)
			return -1;
		if (poll(p, 2, 200) < 0 && errno != EINTR)
			return -1;
		if (p[1].revents)
			console_take(console);
		if (waitpid(qemu, NULL, WNOHANG) != 0)
			return -1;
		if (!p[0].revents)
			continue;
		if (bf_vm_link_fill(&agent) <= 0)
			return -1;
		while ((r = bf_vm_link_next(&agent, &f)) > 0)
			if (f.type == BF_VM_HELLO)
				return 0;
		if (r < 0)
			return -1;
	}
	return -1;
}

/* Sends the main command and waits for STARTED (0) or FAILED (-1). */
static int start_main(struct bf_log_pump *lp)
{
	char path[4096], *data = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	run_path("main.exec", path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -1;
	data = malloc(BF_VM_FRAME_MAX);
	if (data)
		len = fread(data, 1, BF_VM_FRAME_MAX, f);
	fclose(f);
	r = data ? bf_vm_link_send(agent.fd, BF_VM_CHAN_MAIN, BF_VM_EXEC, data, (uint32_t)len) : -1;
	free(data);
	while (r == 0) {
		struct bf_vm_frame fr;
		int got;

		if (bf_vm_link_fill(&agent) <= 0)
			return -1;
		while ((got = bf_vm_link_next(&agent, &fr)) > 0) {
			if (fr.chan == BF_VM_CHAN_MAIN && fr.type == BF_VM_STARTED)
				return 0;
			if (fr.chan == BF_VM_CHAN_MAIN && fr.type == BF_VM_FAILED) {
				from_agent(&fr, lp);
				return -1;
			}
		}
		if (got < 0)
			return -1;
	}
	return -1;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

/* In virtiofsd's mount namespace (a copy of the host's): every mount but
 * what it needs (/, /proc, /sys, /dev, /usr, the run dir's way and the
 * share) is detached, so that the copy holds no other filesystem busy
 * (a bottlefs mount could not end, a loop device not be freed). */
static void drop_other_mounts(const char *share_root)
{
	char **points = NULL, line[8192];
	size_t n = 0, cap = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *field = line, *mp = NULL;

		for (int i = 0; i < 5 && field; i++) {
			mp = field;
			field = strchr(field, ' ');
			if (field)
				*field++ = '\0';
		}
		if (!mp || !field)
			continue;
		if (n == cap) {
			char **more = realloc(points, (cap ? cap * 2 : 256) * sizeof(*points));

			if (!more)
				break;
			points = more;
			cap = cap ? cap * 2 : 256;
		}
		bf_mountinfo_unescape(mp);
		points[n] = strdup(mp);
		if (points[n])
			n++;
	}
	fclose(f);
	/* Newest first: a mount on top of another goes before it. */
	while (n-- > 0) {
		const char *mp = points[n];

		if (strcmp(mp, "/") != 0 && !under(mp, "/proc") && !under(mp, "/sys") && !under(mp, "/dev") &&
		    !under(mp, "/usr") && !under(run_dir, mp) && !under(mp, share_root))
			umount2(mp, MNT_DETACH);
		free(points[n]);
	}
	free(points);
}

/* VIRTIOFSD:DIR served read-only on RUN_DIR/vfs.sock; its pid, or -1. */
static pid_t start_virtiofsd(const char *spec, int console)
{
	char daemon[1024], sock[4096], root[4096], sock_opt[4200], src_opt[4200];
	const char *colon = strchr(spec, ':');
	pid_t pid;
	int i;

	if (!colon || (size_t)(colon - spec) >= sizeof(daemon) || colon[1] != '/')
		return -1;
	memcpy(daemon, spec, (size_t)(colon - spec));
	daemon[colon - spec] = '\0';
	run_path("vfs.sock", sock, sizeof(sock));
	run_path("vfs-root", root, sizeof(root));
	unlink(sock);
	mkdir(root, 0700);
	snprintf(sock_opt, sizeof(sock_opt), "--socket-path=%s", sock);
	snprintf(src_opt, sizeof(src_opt), "source=%s", root);
	pid = fork();
	if (pid == 0) {
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
						       MOUNT_ATTR_NODEV };
		char *argv[] = { daemon, sock_opt, "-o", src_opt, "-o", "cache=always",
				 "-o", "no_posix_lock", "-o", "no_flock", "-o", "log_level=warn", NULL };

		/* It goes with the shim (single-threaded: the parent is us). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(console, 1);
		dup2(console, 2);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount(colon + 1, root, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    syscall(SYS_mount_setattr, AT_FDCWD, root, AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
			fprintf(stderr, "%s: cannot share %s read-only: %s\n", BF_VM_SHIM_NAME, colon + 1,
				strerror(errno));
			_exit(127);
		}
		drop_other_mounts(root);
		execv(daemon, argv);
		fprintf(stderr, "%s: cannot run %s: %s\n", BF_VM_SHIM_NAME, daemon, strerror(errno));
		_exit(127);
	}
	/* QEMU connects at its start: the socket must be there. */
	for (i = 0; pid > 0 && i < 500 && access(sock, F_OK) < 0; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(10000);
	}
	return pid > 0 && access(sock, F_OK) == 0 ? pid : -1;
}

static void stop_virtiofsd(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

int bf_vm_shim_main(int argc, char **argv)
{
	struct bf_log_pump lp;
	char path[4096];
	int console[2], mux, sigfd, i, main_status = -1, accel_at = 0, cpu_at = 0, tries;
	bool kvm;
	sigset_t chld;
	time_t poweroff_by = 0;
	pid_t qemu, vfsd = -1;
	const char *share = NULL;
	int q = 3;              /* argv[q]: QEMU */

	if (argc > 4 && !strncmp(argv[3], "--virtiofs=", 11)) {
		share = argv[3] + 11;
		q = 4;
	}
	if (argc < q + 1) {
		fprintf(stderr, "%s: not for direct use\n", BF_VM_SHIM_NAME);
		return 2;
	}
	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
	snprintf(run_dir, sizeof(run_dir), "%s", argv[1]);
	for (i = 0; i < MAX_SESSIONS; i++)
		sessions[i].fd = -1;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	run_path("console", path, sizeof(path));
	console_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	run_path("log", path, sizeof(path));
	mux = listen_mux();
	if (sigfd < 0 || mux < 0 || pipe2(console, O_CLOEXEC) < 0 ||
	    bf_log_pump_open(&lp, path, atoll(argv[2]) > 0 ? atoll(argv[2]) : BF_LOG_MAX) < 0) {
		fprintf(stderr, "%s: cannot set up: %s\n", BF_VM_SHIM_NAME, strerror(errno));
		bf_shim_report(REPORT_FD, "failed %ld %ld\n", -5, 0);
		return 1;
	}
	console_log = &lp;
	for (i = q; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "-accel"))
			accel_at = i + 1;
		if (!strcmp(argv[i], "-cpu"))
			cpu_at = i + 1;
	}
	kvm = accel_at && !strncmp(argv[accel_at], "kvm", 3);
	for (tries = 0;; tries++) {
		/* virtiofsd serves one QEMU: a new one for each. */
		if (share && (stop_virtiofsd(&vfsd), vfsd = start_virtiofsd(share, console[1])) < 0) {
			fprintf(stderr, "%s: virtiofsd did not start for %s\n", BF_VM_SHIM_NAME, share);
			bf_shim_report(REPORT_FD, "failed %ld %ld\n", -3, 0);
			return 1;
		}
		qemu = bf_spawn_exe(argv[q], argv + q, -1, console[1], console[1], -1);
		if (qemu < 0) {
			fprintf(stderr, "%s: cannot run %s: %s\n", BF_VM_SHIM_NAME, argv[q], strerror(-qemu));
			bf_shim_report(REPORT_FD, "failed %ld %ld\n", -1, 0);
			return 1;
		}
		bf_vm_link_init(&agent, connect_agent(qemu));
		if (agent.fd >= 0 && await_hello(qemu, console[0],
						 kvm ? KVM_BOOT_TIMEOUT_S : tries < 2 ? TCG_FIRST_BOOT_S : BOOT_TIMEOUT_S) == 0)
			break;
		if (!kvm && tries >= 2)
			break;
		if (!kvm) {
			/* A boot that hung (the kernel's clock calibration under
			 * TCG, see microvm_backend.c) gets one more chance. */
			fprintf(stderr, "%s: the VM did not boot in %d s: starting it again\n", BF_VM_SHIM_NAME,
				TCG_FIRST_BOOT_S);
			kill(qemu, SIGKILL);
			waitpid(qemu, NULL, 0);
			if (agent.fd >= 0)
				close(agent.fd);
			continue;
		}
		/* KVM did not boot it: the same VM on TCG. */
		fprintf(stderr, "%s: the VM did not boot on KVM (QEMU ended, or no answer in %d s): starting it on TCG\n",
			BF_VM_SHIM_NAME, KVM_BOOT_TIMEOUT_S);
		kill(qemu, SIGKILL);
		waitpid(qemu, NULL, 0);
		if (agent.fd >= 0)
			close(agent.fd);
		argv[accel_at] = "tcg,tb-size=64";
		if (cpu_at)
			argv[cpu_at] = "max";
		kvm = false;
	}
	close(console[1]);
	if (agent.fd < 0 || start_main(&lp) < 0) {
		kill(qemu, SIGKILL);
		waitpid(qemu, NULL, 0);
		while (console_fd >= 0 && read(console[0], path, sizeof(path)) > 0)
			console_take(console[0]);
		bf_log_pump_flush(&lp);
		bf_shim_report(REPORT_FD, "failed %ld %ld\n", -2, 0);
		return 1;
	}
	bf_shim_report(REPORT_FD, kvm ? "running %ld %ld kvm\n" : "running %ld %ld tcg\n", (long)qemu, (long)getpid());
	for (;;) {
		struct pollfd p[4 + MAX_SESSIONS];
		int n = 4, status, r;

		p[0] = (struct pollfd){ agent.fd, POLLIN, 0 };
		p[1] = (struct pollfd){ console[0], POLLIN, 0 };
		p[2] = (struct pollfd){ mux, POLLIN, 0 };
		p[3] = (struct pollfd){ sigfd, POLLIN, 0 };
		for (i = 0; i < MAX_SESSIONS; i++)
			p[n++] = (struct pollfd){ sessions[i].fd, POLLIN, 0 };
		if (poll(p, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			console_take(console[0]);
		if (p[2].revents)
			accept_session(mux);
		if (p[3].revents) {
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) == sizeof(si))
				;
		}
		if (waitpid(qemu, &status, WNOHANG) == qemu)
			break;
		if (poweroff_by && time(NULL) > poweroff_by) {
			kill(qemu, SIGKILL);    /* the agent did not power off */
			waitpid(qemu, NULL, 0);
			break;
		}
		if (p[0].revents) {
			struct bf_vm_frame f;

			if (bf_vm_link_fill(&agent) <= 0) {
				agent.fd = -1;  /* QEMU went; reaped above next time */
				p[0].fd = -1;
			}
			r = 0;
			while (agent.fd >= 0 && (r = bf_vm_link_next(&agent, &f)) > 0) {
				int st = from_agent(&f, &lp);

				if (st >= 0 && main_status < 0) {
					main_status = st;
					bf_log_pump_flush(&lp);
					run_path("exit", path, sizeof(path));
					bf_exit_file_write(path, main_status);
					poweroff_by = time(NULL) + POWEROFF_WAIT_S;
				}
			}
			if (agent.fd < 0)
				usleep(10000);
		}
		for (i = 0; i < MAX_SESSIONS; i++) {
			struct session *s = &sessions[i];
			struct bf_vm_frame f;

			if (s->fd < 0 || !p[4 + i].revents || p[4 + i].fd != s->fd)
				continue;
			if (bf_vm_link_fill(&s->link) <= 0) {
				end_session(s);
				continue;
			}
			r = 0;
			while (s->fd >= 0 && (r = bf_vm_link_next(&s->link, &f)) > 0)
				from_session(s, &f);
			if (s->fd >= 0 && r < 0)
				end_session(s);
		}
	}
	stop_virtiofsd(&vfsd);
	bf_log_pump_flush(&lp);
	if (main_status < 0) {
		/* The VM went without the main command's end: say so as a kill. */
		run_path("exit", path, sizeof(path));
		bf_exit_file_write(path, SIGKILL);
	}
	bf_log_pump_close(&lp);
	return 0;
}
