/* bottlefs-vm-agent: PID 1 of a microvm bottle (static, /init of its
 * initramfs). It mounts the kernel's filesystems, loads the modules the
 * initramfs lists, sets up the one network interface and /etc/hosts from
 * the kernel command line, then serves the host over the virtio-serial
 * port "bottlefs.agent" (vm_frame.h): it runs commands, streams their
 * output (at most BF_VM_WINDOW unacknowledged bytes a channel, so one
 * reader that stops holds back only its own command), passes input and
 * signals on, reaps everything, and reports each command's exit. When
 * the main command (channel 1) ends, it ends every process and powers
 * the VM off.
 *
 * Every command runs with no_new_privs, in the cgroup that holds
 * [limits] pids; guest root keeps only the capabilities it keeps on the
 * other backends (guest_caps.c), any other user none, bounding set too.
 *
 * Command line keys: bottlefs.ip=A.B.C.D/N bottlefs.gw=A.B.C.D
 * bottlefs.proxy=A.B.C.D (proxy.internal in /etc/hosts) bottlefs.host=NAME
 * bottlefs.pids=N (0: no limit) bottlefs.tmp=BYTES (/tmp's size, and /work's
 * without a workspace disk) bottlefs.disks=N (virtio-blk disks to wait for)
 * bottlefs.home=PATH (where the "home" disk's home/ goes) bottlefs.usr=virtiofs
 * (the host image: /usr is the host's, shared by virtiofs) */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../backend/guest_caps.h"
#include "../backend/microvm/vm_frame.h"

#define MAX_CHANS 64
#define OUT_HIGH (1024 * 1024)  /* frames waiting for the port: read no output past this */
#define PORT_NAME "bottlefs.agent"
#define BOTTLE_CGROUP "/sys/fs/cgroup/bottle"

struct chan {
	uint32_t id;            /* 0: free */
	pid_t pid;              /* its process group too */
	int in, out, err;       /* -1 once closed */
	long long unacked;
	bool exited;
	int status;
};

static struct chan chans[MAX_CHANS];
static struct bf_buf out_buf;   /* frames for the host, not yet written */
static size_t out_done;         /* how much of out_buf is written */
static int port = -1;

static void say(const char *fmt, const char *arg)
{
	dprintf(2, "bottlefs-vm-agent: ");
	dprintf(2, fmt, arg);
	dprintf(2, "\n");
}

static void send_frame(uint32_t chan, uint8_t type, const void *data, uint32_t len)
{
	bf_vm_frame_append(&out_buf, chan, type, data, len);
}

static void send_u32(uint32_t chan, uint8_t type, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };

	send_frame(chan, type, b, 4);
}

/* --- boot */

static void mount_kernel_filesystems(void)
{
	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mkdir("/run", 0755);
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mkdir("/dev/pts", 0755);
	mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620");
	mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755");
	/* The kernel's built-in initramfs makes an empty /root, which the
	 * image did not ask for (a home is made when a command needs it). */
	rmdir("/root");
}

/* /bottlefs/modules: one module path a line, in load order. */
static void load_modules(void)
{
	FILE *f = fopen("/bottlefs/modules", "re");
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		int fd;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0) {
			if (errno != EEXIST)
				say("cannot load a module: %s", line);
		}
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
}

static void cmdline_value(const char *key, char *out, size_t len)
{
	char buf[4096], *p;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	size_t klen = strlen(key);

	out[0] = '\0';
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (p = strtok(buf, " \n"); p; p = strtok(NULL, " \n"))
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			snprintf(out, len, "%s", p + klen + 1);
			return;
		}
}

static int set_addr(int s, const char *ifname, unsigned long req, in_addr_t addr)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = addr;
	return ioctl(s, req, &ifr);
}

static int link_up(int s, const char *ifname)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static void setup_network(void)
{
	char ip[64], gw[32], proxy[32], host[64];
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), prefix = 24, i;
	struct in_addr a, g;
	char *slash;
	FILE *f;

	if (s < 0)
		return;
	link_up(s, "lo");
	cmdline_value("bottlefs.ip", ip, sizeof(ip));
	cmdline_value("bottlefs.gw", gw, sizeof(gw));
	cmdline_value("bottlefs.proxy", proxy, sizeof(proxy));
	cmdline_value("bottlefs.host", host, sizeof(host));
	slash = strchr(ip, '/');
	if (slash) {
		*slash = '\0';
		prefix = atoi(slash + 1);
	}
	/* The device may come a moment after its module. */
	for (i = 0; i < 200 && if_nametoindex("eth0") == 0; i++)
		usleep(10000);
	if (ip[0] && inet_pton(AF_INET, ip, &a) == 1 && prefix > 0 && prefix < 32) {
		in_addr_t mask = htonl(~0u << (32 - prefix));

		if (set_addr(s, "eth0", SIOCSIFADDR, a.s_addr) < 0 ||
		    set_addr(s, "eth0", SIOCSIFNETMASK, mask) < 0 || link_up(s, "eth0") < 0)
			say("cannot set up eth0 (%s)", strerror(errno));
	}
	if (gw[0] && inet_pton(AF_INET, gw, &g) == 1) {
		struct rtentry rt = { 0 };
		struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
		struct sockaddr_in *gwa = (struct sockaddr_in *)&rt.rt_gateway;
		struct sockaddr_in *mask = (struct sockaddr_in *)&rt.rt_genmask;

		dst->sin_family = gwa->sin_family = mask->sin_family = AF_INET;
		gwa->sin_addr = g;
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		if (ioctl(s, SIOCADDRT, &rt) < 0)
			say("cannot add the default route (%s)", strerror(errno));
	}
	close(s);
	mkdir("/etc", 0755);
	f = fopen("/etc/hosts", "we");
	if (f) {
		fprintf(f, "127.0.0.1 localhost\n");
		if (proxy[0])
			fprintf(f, "%s proxy.internal\n", proxy);
		fclose(f);
	}
	/* No resolver: only proxy.internal has a name. */
	f = fopen("/etc/resolv.conf", "we");
	if (f)
		fclose(f);
	if (host[0])
		sethostname(host, strlen(host));
}

/* A directory and its missing parents (mode 0755), like mkdir -p. */
static void make_path(const char *path)
{
	char p[512];
	size_t i;

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return;
	for (i = 1; p[i]; i++)
		if (p[i] == '/') {
			p[i] = '\0';
			mkdir(p, 0755);
			p[i] = '/';
		}
	mkdir(p, 0755);
}

/* One of the VM's disks, named by its virtio serial: "work" (the copy
 * workspace: its work/ becomes /work) or "home" (the guest user's home:
 * its home/ becomes bottlefs.home). Returns the serial's kind, 0 if none. */
static char mount_disk(const char *dev_name, const char *home)
{
	char path[300], serial[32] = "", dev[300], dir[64];
	const char *sub, *target;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/sys/block/%s/serial", dev_name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(serial, sizeof(serial), f))
		serial[0] = '\0';
	fclose(f);
	serial[strcspn(serial, "\n")] = '\0';
	if (strcmp(serial, "work") == 0) {
		sub = "/bottlefs/work/work";
		target = "/work";
	} else if (strcmp(serial, "home") == 0 && home[0] == '/') {
		sub = "/bottlefs/home/home";
		target = home;
	} else {
		return 0;
	}
	snprintf(dev, sizeof(dev), "/dev/%s", dev_name);
	snprintf(dir, sizeof(dir), "/bottlefs/%s", serial);
	mkdir(dir, 0700);
	make_path(target);
	/* devtmpfs may make the node a moment after sysfs shows the disk */
	for (i = 0; i < 100 && access(dev, F_OK) < 0; i++)
		usleep(10000);
	if (mount(dev, dir, "ext4", MS_NOSUID | MS_NODEV, NULL) < 0 ||
	    mount(sub, target, NULL, MS_BIND, NULL) < 0) {
		say("cannot mount the %s disk", serial);
		return 0;
	}
	return serial[0];
}

static int count_disks(void)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += strncmp(e->d_name, "vd", 2) == 0;
	closedir(d);
	return n;
}

/* The disks, then /tmp (and /work without a workspace disk) as tmpfs
 * of bottlefs.tmp bytes. */
static void mount_storage(void)
{
	char want[16], home[256], tmp[32], opts[64];
	bool work = false;
	struct dirent *e;
	int n, i;
	DIR *d;

	cmdline_value("bottlefs.disks", want, sizeof(want));
	cmdline_value("bottlefs.home", home, sizeof(home));
	cmdline_value("bottlefs.tmp", tmp, sizeof(tmp));
	n = atoi(want);
	for (i = 0; i < 300 && count_disks() < n; i++)
		usleep(10000);
	d = n > 0 ? opendir("/sys/block") : NULL;
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, "vd", 2) == 0 && mount_disk(e->d_name, home) == 'w')
			work = true;
	if (d)
		closedir(d);
	if (tmp[0] && strspn(tmp, "0123456789") == strlen(tmp) && strcmp(tmp, "0") != 0)
		snprintf(opts, sizeof(opts), "mode=1777,size=%s", tmp);
	else
		snprintf(opts, sizeof(opts), "mode=1777");
	mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts);
	if (!work) {
		mkdir("/work", 0755);
		mount("tmpfs", "/work", "tmpfs", MS_NOSUID | MS_NODEV, opts);
	}
	/* The host image: the host's /usr, shared read-only (the host side
	 * refuses writes whatever this mount says). */
	cmdline_value("bottlefs.usr", want, sizeof(want));
	if (!strcmp(want, "virtiofs")) {
		mkdir("/usr", 0755);
		if (mount("hostusr", "/usr", "virtiofs", MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
			say("cannot mount the host's /usr: %s", strerror(errno));
	}
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		say("cannot write %s", path);
	if (fd >= 0)
		close(fd);
}

/* Commands run in one cgroup, whose pids.max is [limits] pids (the VM's
 * memory is the memory limit already). The agent joins it itself, once:
 * its children are born in it (moving each one in costs the guest kernel
 * an RCU grace period, 9 ms a command under TCG), and at the limit a new
 * command cannot start, as on the other backends. */
static void setup_cgroup(void)
{
	char pids[24];

	mkdir("/sys/fs/cgroup", 0755);
	if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		say("cannot mount cgroup2: %s", strerror(errno));
		return;
	}
	write_file("/sys/fs/cgroup/cgroup.subtree_control", "+pids");
	if (mkdir(BOTTLE_CGROUP, 0755) < 0 && errno != EEXIST) {
		say("cannot make the bottle's cgroup: %s", strerror(errno));
		return;
	}
	cmdline_value("bottlefs.pids", pids, sizeof(pids));
	if (pids[0] && strcmp(pids, "0") != 0)
		write_file(BOTTLE_CGROUP "/pids.max", pids);
	write_file(BOTTLE_CGROUP "/cgroup.procs", "0");
	/* Read-only from now on: guest root (without CAP_SYS_ADMIN, so it
	 * cannot remount) may neither raise the limit nor leave the cgroup. */
	if (mount(NULL, "/sys/fs/cgroup", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		say("cannot make the cgroup tree read-only: %s", strerror(errno));
}

/* In a command's child, before it becomes the guest user: the bounding
 * set loses what the user may not keep, and nothing it runs gains
 * privileges. 0 or an errno. */
static int confine_self(uid_t uid)
{
	uint64_t keep = uid == 0 ? bf_guest_root_cap_mask() : 0;
	int cap;

	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return errno;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? errno : 0;
}

/* After setuid: root's effective, permitted and inheritable sets become
 * the kept ones (another user has none left already). */
static int drop_root_caps(uid_t uid)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uint64_t keep = bf_guest_root_cap_mask();

	if (uid != 0)
		return 0;
	d[0].effective = d[0].permitted = (uint32_t)keep;
	d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
	d[0].inheritable = d[1].inheritable = 0;
	return syscall(SYS_capset, &h, d) < 0 ? errno : 0;
}

static int open_port(void)
{
	int tries;

	for (tries = 0; tries < 500; tries++) {
		DIR *d = opendir("/sys/class/virtio-ports");
		struct dirent *e;

		while (d && (e = readdir(d))) {
			char path[512], name[64] = "";
			int fd;
			ssize_t n;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			n = fd >= 0 ? read(fd, name, sizeof(name) - 1) : -1;
			if (fd >= 0)
				close(fd);
			if (n <= 0)
				continue;
			name[n] = '\0';
			name[strcspn(name, "\n")] = '\0';
			if (strcmp(name, PORT_NAME) != 0)
				continue;
			snprintf(path, sizeof(path), "/dev/%s", e->d_name);
			closedir(d);
			return open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		}
		if (d)
			closedir(d);
		usleep(10000);
	}
	errno = ENOENT;
	return -1;
}

/* --- commands */

/* A missing working directory or home is made, the user's own (as a
 * fresh home would be), like `mkdir -p`. */
static void make_dir_for(const char *path, uid_t uid, gid_t gid)
{
	char p[512];
	size_t i;

	if (!path || path[0] != '/' || strlen(path) >= sizeof(p) || access(path, F_OK) == 0)
		return;
	snprintf(p, sizeof(p), "%s", path);
	for (i = 1; p[i]; i++)
		if (p[i] == '/') {
			p[i] = '\0';
			mkdir(p, 0755);
			p[i] = '/';
		}
	if (mkdir(p, 0755) == 0 && chown(p, uid, gid) < 0)
		say("cannot give %s to the guest user", p);
}

static struct chan *chan_of(uint32_t id)
{
	int i;

	for (i = 0; i < MAX_CHANS; i++)
		if (chans[i].id == id)
			return &chans[i];
	return NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void fail(uint32_t id, const char *why)
{
	send_frame(id, BF_VM_FAILED, why, (uint32_t)strlen(why));
}

/* A new terminal (master returned, O_CLOEXEC) of x's size; its slave's
 * path in `slave`. -1 on failure. */
static int open_terminal(const struct bf_vm_exec *x, char *slave, size_t len)
{
	struct winsize ws = { .ws_row = (unsigned short)x->rows, .ws_col = (unsigned short)x->cols };
	int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0)
		return -1;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, len) != 0 ||
	    ioctl(m, TIOCSWINSZ, &ws) < 0) {
		close(m);
		return -1;
	}
	return m;
}

/* In the command's child (a session leader): the terminal becomes its
 * controlling one and its 0, 1 and 2, the guest user's, group tty (5),
 * as a login makes it. 0 or an errno. */
static int attach_terminal(const char *slave, uid_t uid)
{
	int s = open(slave, O_RDWR);

	if (s < 0)
		return errno;
	if (ioctl(s, TIOCSCTTY, 0) < 0 || fchown(s, uid, 5) < 0 || fchmod(s, 0620) < 0 ||
	    dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0) {
		int e = errno;

		close(s);
		return e;
	}
	if (s > 2)
		close(s);
	return 0;
}

static void start_command(uint32_t id, const char *data, uint32_t len)
{
	struct bf_vm_exec x;
	const char *why = NULL;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, report[2], e = 0;
	int master = -1, fork_errno;
	char slave[64] = "";
	struct chan *c;
	pid_t pid;
	ssize_t n;

	if (id == BF_VM_CHAN_AGENT || chan_of(id)) {
		fail(id, "channel in use");
		return;
	}
	if (bf_vm_exec_parse(data, len, &x, &why) < 0) {
		fail(id, why);
		return;
	}
	c = chan_of(0);
	if (!c) {
		fail(id, "too many commands at once");
		return;
	}
	if (x.cols) {
		/* A terminal of the guest's devpts: the master is the channel's
		 * input and output, the slave the command's 0, 1 and 2. */
		master = open_terminal(&x, slave, sizeof(slave));
		if (master < 0) {
			fail(id, "cannot open a terminal");
			return;
		}
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		close_fd(&in[0]);
		close_fd(&in[1]);
		close_fd(&out[0]);
		close_fd(&out[1]);
		fail(id, "out of pipes");
		return;
	}
	if (pipe2(report, O_CLOEXEC) < 0) {
		close_fd(&master);
		close_fd(&in[0]);
		close_fd(&in[1]);
		close_fd(&out[0]);
		close_fd(&out[1]);
		close_fd(&err[0]);
		close_fd(&err[1]);
		fail(id, "out of pipes");
		return;
	}
	pid = fork();
	fork_errno = errno;
	if (pid == 0) {
		sigset_t none;
		int sig;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		setsid();
		make_dir_for(x.cwd, x.uid, x.gid);
		for (size_t k = 0; k < x.envc; k++)
			if (strncmp(x.env[k], "HOME=", 5) == 0)
				make_dir_for(x.env[k] + 5, x.uid, x.gid);
		if (master >= 0) {
			e = attach_terminal(slave, x.uid);
		} else {
			dup2(in[0], 0);
			dup2(out[1], 1);
			dup2(err[1], 2);
		}
		if (!e)
			e = confine_self(x.uid);
		if (!e && (setgroups(0, NULL) < 0 || setgid(x.gid) < 0 || setuid(x.uid) < 0 ||
			   chdir(x.cwd) < 0))
			e = errno;
		if (!e)
			e = drop_root_caps(x.uid);
		if (!e) {
			execvpe(x.argv[0], (char *const *)x.argv, (char *const *)x.env);
			e = errno;
		}
		n = write(report[1], &e, sizeof(e));
		(void)n;
		_exit(e == ENOENT ? 127 : 126);
	}
	if (master >= 0) {
		out[0] = master;
		in[1] = fcntl(master, F_DUPFD_CLOEXEC, 0);
	}
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	close(report[1]);
	if (pid < 0) {
		close_fd(&in[1]);
		close_fd(&out[0]);
		close_fd(&err[0]);
		close(report[0]);
		fail(id, fork_errno == EAGAIN ? "cannot fork: its pids limit is reached" : "cannot fork");
		return;
	}
	/* The exec closed the report pipe (CLOEXEC): it runs. */
	n = read(report[0], &e, sizeof(e));
	close(report[0]);
	*c = (struct chan){ id, pid, in[1], out[0], err[0], 0, false, 0 };
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	if (n == (ssize_t)sizeof(e)) {
		char msg[300];

		snprintf(msg, sizeof(msg), "%s: %s", x.argv[0], strerror(e));
		fail(id, msg);
		close_fd(&c->in);       /* it ends by itself; its exit frees the channel */
		return;
	}
	send_u32(id, BF_VM_STARTED, (uint32_t)pid);
}

static void signal_group(struct chan *c, int sig)
{
	if (c->pid > 0 && !c->exited)
		kill(-c->pid, sig);
}

static void handle_frame(const struct bf_vm_frame *f)
{
	struct chan *c = f->chan ? chan_of(f->chan) : NULL;
	long long v;

	switch (f->type) {
	case BF_VM_HELLO:
		/* The host asks until it hears us: what the port carried before
		 * the host connected is lost. */
		send_frame(BF_VM_CHAN_AGENT, BF_VM_HELLO, "bottlefs-vm-agent 1", 19);
		break;
	case BF_VM_EXEC:
		start_command(f->chan, f->data, f->len);
		break;
	case BF_VM_STDIN:
		if (!c || c->in < 0)
			break;
		if (!f->len) {
			close_fd(&c->in);
			break;
		}
		/* A command that does not read its input loses what does not
		 * fit in its pipe, rather than stalling every channel. */
		if (write(c->in, f->data, f->len) < 0 && errno != EAGAIN)
			close_fd(&c->in);
		break;
	case BF_VM_ACK:
		v = bf_vm_frame_u32(f);
		if (c && v > 0)
			c->unacked = v > c->unacked ? 0 : c->unacked - v;
		break;
	case BF_VM_SIGNAL:
		v = bf_vm_frame_u32(f);
		if (c && v > 0 && v < NSIG)
			signal_group(c, (int)v);
		break;
	case BF_VM_CLOSE:
		if (c) {
			signal_group(c, SIGKILL);
			close_fd(&c->in);
		}
		break;
	case BF_VM_RESIZE:
		v = bf_vm_frame_u32(f);
		/* Its output end is the terminal's master (a pipe refuses). */
		if (c && c->out >= 0 && v > 0) {
			struct winsize ws = { .ws_row = (unsigned short)(v & 0xffff),
					      .ws_col = (unsigned short)(v >> 16) };

			ioctl(c->out, TIOCSWINSZ, &ws);
		}
		break;
	default:
		break;
	}
}

/* The channel's end, once its process is reaped and its output read. */
static void maybe_finish(struct chan *c)
{
	if (!c->id || !c->exited || c->out >= 0 || c->err >= 0)
		return;
	send_u32(c->id, BF_VM_EXIT, (uint32_t)c->status);
	close_fd(&c->in);
	if (c->id == BF_VM_CHAN_MAIN) {
		c->id = 0;
		return;         /* the caller powers off */
	}
	c->id = 0;
}

static void reap(void)
{
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < MAX_CHANS; i++)
			if (chans[i].id && chans[i].pid == pid) {
				chans[i].exited = true;
				chans[i].status = status;
				/* What it started goes with it. */
				kill(-pid, SIGKILL);
			}
}

static void pump_output(struct chan *c, int *fd, uint8_t type)
{
	char buf[64 * 1024];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n > 0) {
		send_frame(c->id, type, buf, (uint32_t)n);
		c->unacked += n;
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close_fd(fd);
	}
}

static void flush_out(void)
{
	while (out_done < out_buf.len) {
		ssize_t n = write(port, out_buf.data + out_done, out_buf.len - out_done);

		if (n <= 0)
			break;
		out_done += (size_t)n;
	}
	if (out_done == out_buf.len) {
		bf_buf_set_len(&out_buf, 0);
		out_done = 0;
	}
}

static void power_off(void)
{
	int i;

	flush_out();
	kill(-1, SIGTERM);
	for (i = 0; i < 20 && waitpid(-1, NULL, WNOHANG) >= 0; i++)
		usleep(50000);
	kill(-1, SIGKILL);
	/* The last frames reach the host before the VM goes. */
	for (i = 0; i < 100 && out_done < out_buf.len; i++) {
		struct pollfd p = { port, POLLOUT, 0 };

		poll(&p, 1, 20);
		flush_out();
	}
	tcdrain(port);
	sync();
	umount2("/work", MNT_DETACH);
	umount("/bottlefs/work");
	umount("/bottlefs/home");
	reboot(RB_POWER_OFF);
	_exit(0);
}

static void serve(int sigfd)
{
	static char in_buf[BF_VM_FRAME_HEAD + BF_VM_FRAME_MAX];
	size_t in_len = 0;
	bool main_seen = false;

	send_frame(BF_VM_CHAN_AGENT, BF_VM_HELLO, "bottlefs-vm-agent 1", 19);
	for (;;) {
		struct pollfd p[2 + 2 * MAX_CHANS];
		struct chan *owner[2 + 2 * MAX_CHANS];
		int n = 0, i;

		p[n] = (struct pollfd){ port, POLLIN | (out_done < out_buf.len ? POLLOUT : 0), 0 };
		owner[n++] = NULL;
		p[n] = (struct pollfd){ sigfd, POLLIN, 0 };
		owner[n++] = NULL;
		for (i = 0; i < MAX_CHANS; i++) {
			struct chan *c = &chans[i];
			bool room = c->unacked < BF_VM_WINDOW && out_buf.len < OUT_HIGH;

			if (!c->id || !room)
				continue;
			if (c->out >= 0) {
				p[n] = (struct pollfd){ c->out, POLLIN, 0 };
				owner[n++] = c;
			}
			if (c->err >= 0) {
				p[n] = (struct pollfd){ c->err, POLLIN, 0 };
				owner[n++] = c;
			}
		}
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			continue;
		if (p[0].revents & POLLOUT)
			flush_out();
		if (p[0].revents & POLLIN) {
			ssize_t got = read(port, in_buf + in_len, sizeof(in_buf) - in_len);

			if (got > 0) {
				struct bf_vm_frame f;
				ssize_t used;
				size_t at = 0;

				in_len += (size_t)got;
				while ((used = bf_vm_frame_parse(in_buf + at, in_len - at, &f)) > 0) {
					if (f.type == BF_VM_EXEC && f.chan == BF_VM_CHAN_MAIN)
						main_seen = true;
					handle_frame(&f);
					at += (size_t)used;
				}
				if (used < 0) {
					say("%s", "bad frame from the host: input dropped");
					at = in_len;
				}
				memmove(in_buf, in_buf + at, in_len - at);
				in_len -= at;
			} else if (got == 0) {
				/* The host is not connected: wait for it. */
				usleep(20000);
			}
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) == sizeof(si))
				;
			reap();
		}
		for (i = 2; i < n; i++) {
			struct chan *c = owner[i];

			if (!p[i].revents)
				continue;
			if (p[i].fd == c->out)
				pump_output(c, &c->out, BF_VM_STDOUT);
			else if (p[i].fd == c->err)
				pump_output(c, &c->err, BF_VM_STDERR);
		}
		reap();
		for (i = 0; i < MAX_CHANS; i++) {
			bool was_main = chans[i].id == BF_VM_CHAN_MAIN;

			maybe_finish(&chans[i]);
			if (was_main && !chans[i].id && main_seen)
				power_off();
		}
		flush_out();
	}
}

int main(void)
{
	sigset_t chld;
	int sigfd;

	if (getpid() != 1) {
		fputs("bottlefs-vm-agent: not for direct use (it is a VM's init)\n", stderr);
		return 2;
	}
	mount_kernel_filesystems();
	load_modules();
	setup_network();
	mount_storage();
	setup_cgroup();
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	port = open_port();
	if (port < 0 || sigfd < 0) {
		say("no host channel: %s", strerror(errno));
		reboot(RB_POWER_OFF);
		return 1;
	}
	serve(sigfd);
	return 0;
}
