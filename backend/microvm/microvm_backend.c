/* QEMU microvm guests: each bottle a VM with a kernel of its own (Debian's
 * cloud kernel) and our agent as PID 1, booted from an initramfs made of
 * the image (vm_image.c), run by a shim of its own (vm_shim.c) and reached
 * over one virtio-serial port (vm_frame.h). The network is QEMU's user
 * networking, restricted: the guest reaches nothing but the sidecar ports
 * forwarded on the subnet's proxy address. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <bsd/string.h>
#include <json-c/json.h>

#include "../backends.h"
#include "../bottle.h"
#include "../buf.h"
#include "../cleanup.h"
#include "../copy_tree.h"
#include "../disk_image.h"
#include "../exec_session.h"
#include "../egress_proxy.h"
#include "../exit_file.h"
#include "../guest_user.h"
#include "../host_etc.h"
#include "../access_as.h"
#include "../image_view.h"
#include "../json_get.h"
#include "../manifest.h"
#include "../proc_ident.h"
#include "../quote.h"
#include "../shim.h"
#include "../spawn.h"
#include "vm_frame.h"
#include "vm_image.h"
#include "vm_link.h"
#include "vm_shim.h"
#include "vm_strays.h"

#define DEFAULT_MEMORY_MB 256
#define UNIX_PATH_MAX 108

struct vm_run {
	struct bf_shim_ident shim;
	char accel[8];          /* "tcg" or "kvm" */
	char kernel[64];        /* the guest kernel's release */
	unsigned long long qemu_id;     /* QEMU's host uid and gid: the bottle's id_base */
};

_Static_assert(sizeof(struct vm_run) <= BF_RUN_PRIVATE_SIZE, "vm_run fits bf_run.priv");

static struct vm_run *vm_run(struct bf_run *run)
{
	return (struct vm_run *)run->priv.bytes;
}

static const struct vm_run *vm_run_const(const struct bf_run *run)
{
	return (const struct vm_run *)run->priv.bytes;
}

/* The guest kernel's directory: -o vm_kernel=DIR (paths->vm_kernel), else
 * BOTTLEFS_VM_KERNEL, else the default scripts/vm-kernel.sh fills. */
static const char *kernel_dir_of(const char *option)
{
	const char *env = getenv("BOTTLEFS_VM_KERNEL");

	if (option && option[0] == '/')
		return option;
	return env && env[0] == '/' ? env : BF_VM_KERNEL_DIR;
}

static const char *kernel_dir(void)
{
	return kernel_dir_of(NULL);
}

/* KVM where /dev/kvm opens, unless a VM of this daemon's did not boot on
 * it (the shim then started it on TCG): tried once, not at every start.
 * BOTTLEFS_VM_ACCEL=tcg or =kvm decides instead. */
static bool kvm_failed;

static const char *accel_choice(char *why, size_t len)
{
	const char *want = getenv("BOTTLEFS_VM_ACCEL");
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bool kvm = fd >= 0;

	if (fd >= 0)
		close(fd);
	if (want && !strcmp(want, "tcg")) {
		snprintf(why, len, "tcg (BOTTLEFS_VM_ACCEL=tcg)");
		return "tcg";
	}
	if (!kvm) {
		snprintf(why, len, "tcg (no usable /dev/kvm)");
		return "tcg";
	}
	if (kvm_failed && !(want && !strcmp(want, "kvm"))) {
		snprintf(why, len, "tcg (a VM did not boot on KVM here)");
		return "tcg";
	}
	snprintf(why, len, "kvm, else tcg (a VM that does not boot on KVM in 15 s is started on TCG)");
	return "kvm";
}

static int qemu_version(const char *qemu, char *out, size_t len)
{
	int p[2], status;
	char buf[256] = "";
	ssize_t n;
	pid_t pid;
	char *argv[] = { (char *)qemu, "--version", NULL };

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = bf_spawn_exe(qemu, argv, -1, p[1], -1, -1);
	close(p[1]);
	n = pid > 0 ? read(p[0], buf, sizeof(buf) - 1) : -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	/* "QEMU emulator version 7.2.x (Debian ...)" */
	strlcpy(out, strncmp(buf, "QEMU emulator version ", 22) == 0 ? buf + 22 : buf, len);
	return 0;
}

/* Asking QEMU costs a run of it (15 ms here), and every `ls -l` of the
 * mount's root renders backends: the answer is kept for as long as the
 * program is the same file, unchanged. */
static int qemu_version_cached(const char *qemu, char *out, size_t len)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct {
		bool valid;
		char path[PATH_MAX];
		struct stat st;
		char version[128];
	} cache;
	struct stat st;
	bool hit;
	int r;

	if (stat(qemu, &st) < 0)
		return -errno;
	pthread_mutex_lock(&lock);
	hit = cache.valid && strcmp(cache.path, qemu) == 0 && cache.st.st_dev == st.st_dev &&
	      cache.st.st_ino == st.st_ino && cache.st.st_size == st.st_size &&
	      cache.st.st_mtim.tv_sec == st.st_mtim.tv_sec && cache.st.st_mtim.tv_nsec == st.st_mtim.tv_nsec &&
	      cache.st.st_ctim.tv_sec == st.st_ctim.tv_sec && cache.st.st_ctim.tv_nsec == st.st_ctim.tv_nsec;
	if (hit)
		strlcpy(out, cache.version, len);
	pthread_mutex_unlock(&lock);
	if (hit)
		return 0;
	r = qemu_version(qemu, out, len);       /* not under the lock: a run of QEMU */
	if (r == 0) {
		pthread_mutex_lock(&lock);
		cache.valid = true;
		strlcpy(cache.path, qemu, sizeof(cache.path));
		cache.st = st;
		strlcpy(cache.version, out, sizeof(cache.version));
		pthread_mutex_unlock(&lock);
	}
	return r;
}

static int microvm_preflight(char *about, size_t len, struct bf_error *err)
{
	char qemu[PATH_MAX], path[PATH_MAX], version[128] = "?", release[BF_VM_RELEASE_MAX], accel[128];

	if (bf_find_program("qemu-system-x86_64", qemu, sizeof(qemu)) < 0)
		return bf_error_set(err, ENOENT, "qemu-system-x86_64 not found (apt-get install qemu-system-x86)");
	snprintf(path, sizeof(path), "%s/vmlinuz", kernel_dir());
	if (access(path, R_OK) < 0)
		return bf_error_set(err, ENOENT, "no guest kernel at %s (run scripts/vm-kernel.sh)", path);
	if (bf_libexec_path("bottlefs-vm-agent", path, sizeof(path)) < 0)
		return bf_error_set(err, ENOENT, "bottlefs-vm-agent is not installed");
	qemu_version_cached(qemu, version, sizeof(version));
	bf_vm_kernel_release(kernel_dir(), release);
	accel_choice(accel, sizeof(accel));
	if (about)
		snprintf(about, len, "qemu %s, kernel %s, accel %s", version, release[0] ? release : "?",
			 accel);
	return 0;
}

static int microvm_check_manifest(const struct bf_manifest *m, struct bf_error *err)
{
	/* A root filesystem directory, "host", or a local docker image's name. */
	if (m->image[0] != '/' && strcmp(m->image, "host") != 0 &&
	    (!m->image[0] ||
	     m->image[strspn(m->image, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")]))
		return bf_error_set(err, EINVAL, "microvm image must be \"host\", an absolute path to a root filesystem directory or a local docker image's name, not \"%s\"",
				    m->image);
	if (m->workspace_mode == BF_WORKSPACE_BIND)
		return bf_error_set(err, ENOTSUP, "a microvm bottle cannot share a host directory (workspace mode \"bind\"): use mode = \"copy\"");
	if (m->mounts_len)
		return bf_error_set(err, ENOTSUP, "microvm bottles take no [[mount]] in this version");
	return 0;
}

/* The guest dials its sidecars on the subnet's proxy address, which QEMU
 * forwards to the host. */
static const char *microvm_guest_sidecar_host(const char *proxy_ip)
{
	return proxy_ip;
}

/* --- the run record */

static int microvm_run_save(const struct bf_run *run, struct json_object *o)
{
	const struct vm_run *r = vm_run_const(run);

	if (json_object_object_add(o, "accel", json_object_new_string(r->accel)) ||
	    json_object_object_add(o, "kernel", json_object_new_string(r->kernel)) ||
	    json_object_object_add(o, "qemu_id", json_object_new_int64((int64_t)r->qemu_id)))
		return -ENOMEM;
	return bf_shim_ident_save(&r->shim, o);
}

static const char *microvm_run_load(struct json_object *o, struct bf_run *run)
{
	struct vm_run *r = vm_run(run);
	const char *accel = bf_json_str(o, "accel"), *kernel = bf_json_str(o, "kernel");

	memset(r, 0, sizeof(*r));
	strlcpy(r->accel, accel ? accel : "", sizeof(r->accel));
	strlcpy(r->kernel, kernel ? kernel : "", sizeof(r->kernel));
	{
		int64_t id = 0;

		r->qemu_id = bf_json_int64(o, "qemu_id", &id) && id > 0 ? (unsigned long long)id : 0;
	}
	return bf_shim_ident_load(o, &r->shim);
}

static void microvm_run_render(const struct bf_run *run, struct bf_buf *out)
{
	const struct vm_run *r = vm_run_const(run);

	bf_buf_printf(out, "accel: %s\n", r->accel);
	bf_buf_puts(out, "kernel: ");
	bf_quote_env(out, r->kernel, strlen(r->kernel));
	bf_buf_putc(out, '\n');
	bf_buf_printf(out, "qemu_user: %llu (the bottle's host id range, no host account)\n", r->qemu_id);
}

static void microvm_run_describe(const struct bf_run *run, char *out, size_t len)
{
	snprintf(out, len, "qemu microvm (%s)", vm_run_const(run)->accel);
}

/* --- start */

static void run_file(const struct bf_paths *p, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", p->run_dir, name);
}

/* The bottle's /etc/passwd and group: the image's, with the guest user
 * added when the image lacks it (as the oci backend does). */
/* The image's passwd and group, from a directory of bottlefs's own (the
 * image cache's copy, read as the writer; the host image's filtered
 * /etc), read beneath `beneath`. */
static int prepare_etc(const struct bf_bottle *b, const struct bf_paths *p, const char *beneath,
		       struct bf_guest_user *user, struct bf_error *err)
{
	const char *files[] = { "passwd", "group" };
	char dir[PATH_MAX], dst[PATH_MAX + 16];
	cleanup_close int root = open(beneath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t i;

	run_file(p, "vm-etc", dir, sizeof(dir));
	if (mkdir(p->run_dir, 0700) < 0 && errno != EEXIST)
		return bf_error_set(err, errno, "mkdir %s: %s", p->run_dir, strerror(errno));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return bf_error_set(err, errno, "mkdir %s: %s", dir, strerror(errno));
	for (i = 0; i < 2; i++) {
		cleanup_close int in = -1, out = -1;
		char buf[65536];
		ssize_t n;

		struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
					.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };

		snprintf(dst, sizeof(dst), "%s/%s", dir, files[i]);
		out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0)
			return bf_error_set(err, errno, "%s: %s", dst, strerror(errno));
		in = root < 0 ? -1 : (int)syscall(SYS_openat2, root, files[i], &how, sizeof(how));
		if (in < 0) {
			/* An image without one: root's line to begin with. */
			const char *base = i == 0 ? "root:x:0:0:root:/root:/bin/sh\n" : "root:x:0:\n";

			if (write(out, base, strlen(base)) < 0)
				return bf_error_set(err, errno, "%s: %s", dst, strerror(errno));
			continue;
		}
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				return bf_error_set(err, errno, "%s: %s", dst, strerror(errno));
	}
	return bf_guest_user_resolve(&b->manifest, dir, true, user, err);
}

static void exec_fields(struct bf_buf *out, uid_t uid, gid_t gid, const char *cwd, char *const *env,
			size_t env_len)
{
	char num[16];
	size_t i;

	snprintf(num, sizeof(num), "%u", (unsigned)uid);
	bf_vm_exec_field(out, "uid", num);
	snprintf(num, sizeof(num), "%u", (unsigned)gid);
	bf_vm_exec_field(out, "gid", num);
	bf_vm_exec_field(out, "cwd", cwd && cwd[0] == '/' ? cwd : "/");
	for (i = 0; env && (env_len ? i < env_len : env[i] != NULL); i++)
		bf_vm_exec_field(out, "env", env[i]);
}

static int write_main_exec(const struct bf_bottle *b, const struct bf_paths *p,
			   const struct bf_guest_user *user, struct bf_error *err)
{
	char path[PATH_MAX];
	struct bf_buf x = { 0 };
	cleanup_close int fd = -1;
	size_t i;
	int r = 0;

	exec_fields(&x, user->uid, user->gid, b->manifest.workdir, b->env, b->env_len);
	for (i = 0; i < b->manifest.command_len; i++)
		bf_vm_exec_field(&x, "arg", b->manifest.command[i]);
	if (bf_buf_finish(&x) < 0)
		return bf_error_set(err, ENOMEM, "out of memory");
	if (x.len > BF_VM_FRAME_MAX) {
		bf_buf_free(&x);
		return bf_error_set(err, E2BIG, "the command and environment exceed %d bytes", BF_VM_FRAME_MAX);
	}
	run_file(p, "main.exec", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, x.data, x.len) != (ssize_t)x.len)
		r = bf_error_set(err, errno, "%s: %s", path, strerror(errno));
	bf_buf_free(&x);
	return r;
}

/* "tsc_early_khz=N" from the host's clock rate (/proc/cpuinfo's first
 * "cpu MHz"), or "" if it is not there. */
static void host_tsc_khz(char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[256];
	double mhz = 0;

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1 || sscanf(line, "cpu MHz\t: %lf", &mhz) == 1)
			break;
	if (f)
		fclose(f);
	if (mhz > 1)
		snprintf(out, len, "tsc_early_khz=%ld", (long)(mhz * 1000));
}

/* Kills the VM processes of run dir RUN_DIR, found by what they are. */
static int kill_vm_of(const char *run_dir, struct bf_error *err)
{
	char root[PATH_MAX], *slash;
	struct bf_vm_exes exes;

	strlcpy(root, run_dir, sizeof(root));
	slash = strrchr(root, '/');
	if (!slash)
		return bf_error_set(err, EINVAL, "run dir %s is not a path", run_dir);
	*slash = '\0';
	bf_vm_exes_find(&exes);
	return bf_vm_kill_by_name(root, slash + 1, &exes, err);
}

/* virtiofsd: Debian's QEMU ships it in its own directory. */
static int find_virtiofsd(char *out, size_t len)
{
	static const char *const where[] = { "/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd", NULL };

	for (size_t i = 0; where[i]; i++)
		if (access(where[i], X_OK) == 0) {
			strlcpy(out, where[i], len);
			return 0;
		}
	return bf_find_program("virtiofsd", out, len);
}

static int copy_host_etc(const char *dst, const struct bf_caller *writer, struct bf_error *err)
{
	struct bf_copy_opts opts = { .keep = bf_host_etc_keep, .read_as = writer };
	int r = bf_remove_tree(dst, err);

	return r < 0 ? r : bf_copy_tree("/etc", dst, &opts, err);
}

/* QEMU runs as the bottle's id_base (no host account), after it has
 * opened what it needs as root: the connections it forwards reach the
 * daemon through RUN/fwd/. The run dir and fwd/ let that id's group pass
 * and nobody else; the files in them stay root's. */
static int prepare_fwd_dir(const struct bf_bottle *b, const struct bf_paths *p,
			   struct bf_error *err)
{
	char dir[PATH_MAX];

	if (b->meta.id_base == 0)
		return bf_error_set(err, EINVAL, "the bottle has no host id range for its VM's QEMU");
	run_file(p, "fwd", dir, sizeof(dir));
	if (mkdir(dir, 0710) < 0 && errno != EEXIST)
		return bf_error_set(err, errno, "mkdir %s: %s", dir, strerror(errno));
	if (chown(dir, 0, (gid_t)b->meta.id_base) < 0 || chmod(dir, 0710) < 0 ||
	    chown(p->run_dir, 0, (gid_t)b->meta.id_base) < 0 || chmod(p->run_dir, 0710) < 0)
		return bf_error_set(err, errno, "%s: %s", dir, strerror(errno));
	return 0;
}

static int microvm_start(const struct bf_bottle *b, const struct bf_paths *p, struct bf_run *run,
			 struct bf_error *err)
{
	char qemu[PATH_MAX], agent[PATH_MAX], shim[PATH_MAX], base[PATH_MAX], initrd[PATH_MAX];
	char state_dir[PATH_MAX], vmlinuz[PATH_MAX], etc[PATH_MAX], sock[PATH_MAX + 32];
	char mem[24], cpus[24], cmdline[1024], netdev[4 * PATH_MAX], chardev[PATH_MAX + 128];
	char qmp[PATH_MAX + 128], drive[PATH_MAX + 64] = "", tsc[48], runas[48];
	char home_drive[PATH_MAX + 64], home[64];
	char log_max[24], accel_why[128], line[128], guest_ip[20], *slash, fwd[PATH_MAX];
	/* The manifest's kernel, else the mount's (-o vm_kernel), else the default. */
	const char *accel, *cpu, *kdir = b->manifest.kernel ? b->manifest.kernel : kernel_dir_of(p->vm_kernel);
	char release[BF_VM_RELEASE_MAX] = "", image_etc[PATH_MAX], host_etc[PATH_MAX], virtiofsd[PATH_MAX];
	char vfs_chardev[PATH_MAX + 64], share[PATH_MAX + 32], memobj[80];
	bool host = !strcmp(b->manifest.image, "host");
	struct bf_caller writer;
	char accel_opt[64];
	struct bf_guest_user user = { 0 };
	cleanup_close int log_fd = -1;
	int report[2], r, status;
	long qemu_pid = 0, shim_pid = 0;
	char used[8] = "";
	pid_t pid;

	if (bf_find_program("qemu-system-x86_64", qemu, sizeof(qemu)) < 0)
		return bf_error_set(err, ENOENT, "qemu-system-x86_64 not found (apt-get install qemu-system-x86)");
	if (bf_libexec_path("bottlefs-vm-agent", agent, sizeof(agent)) < 0 ||
	    bf_libexec_path(BF_VM_SHIM_NAME, shim, sizeof(shim)) < 0)
		return bf_error_set(err, ENOENT, "bottlefs-vm-agent or %s is not installed", BF_VM_SHIM_NAME);
	snprintf(vmlinuz, sizeof(vmlinuz), "%s/vmlinuz", kdir);
	if (access(vmlinuz, R_OK) < 0)
		return bf_error_set(err, ENOENT, "no guest kernel at %s (run scripts/vm-kernel.sh, or name one: kernel = \"DIR\" or -o vm_kernel=DIR)",
				    vmlinuz);
	/* What the VM boots is read as the manifest's writer. */
	bf_caller_of_uid(b->meta.owner, &writer);
	/* The shim's sockets are unix sockets in the run dir. */
	if (strlen(p->run_dir) + sizeof("/agent.sock") > UNIX_PATH_MAX)
		return bf_error_set(err, ENAMETOOLONG, "the state directory's path is too long for the VM's sockets (%zu bytes; at most %d)",
				    strlen(p->run_dir), UNIX_PATH_MAX - (int)sizeof("/run/NAME/agent.sock"));
	/* QEMU's option syntax (commas) and the forwarder's shell command
	 * line take these paths as they are. */
	if (p->run_dir[strspn(p->run_dir, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-")])
		return bf_error_set(err, EINVAL, "the state directory's path has characters a VM's options cannot carry (only letters, digits and / . _ -): %s",
				    p->run_dir);
	if (bf_libexec_path("bottlefs-vm-fwd", fwd, sizeof(fwd)) < 0)
		return bf_error_set(err, ENOENT, "bottlefs-vm-fwd is not installed");
	strlcpy(state_dir, p->runtime_root, sizeof(state_dir));
	slash = strrchr(state_dir, '/');
	if (slash)
		*slash = '\0';
	/* The bottle is not running by its record: a VM in its run dir is
	 * one a start the daemon did not finish left (its sockets and disks
	 * would be this start's). */
	r = kill_vm_of(p->run_dir, err);
	if (r > 0)
		r = 0;
	if (r == 0 && host && find_virtiofsd(virtiofsd, sizeof(virtiofsd)) < 0)
		r = bf_error_set(err, ENOENT, "the host image of a microvm bottle needs virtiofsd (qemu-system-common)");
	if (r == 0 && host)
		r = bf_vm_host_usr_merged(err);
	if (r == 0)
		r = bf_vm_image_base(state_dir, b->manifest.image, agent, kdir, &writer, base, vmlinuz,
				     release, image_etc, err);
	/* The host image's /etc: the host's without secrets, read as the
	 * writer, made afresh at each start (as on oci). */
	run_file(p, "vm-hostetc", host_etc, sizeof(host_etc));
	if (r == 0 && host)
		r = copy_host_etc(host_etc, &writer, err);
	if (r == 0)
		r = prepare_etc(b, p, host ? host_etc : image_etc, &user, err);
	run_file(p, "vm-etc", etc, sizeof(etc));
	if (r == 0)
		r = bf_vm_image_bottle(base, host ? host_etc : NULL, etc, p->run_dir, initrd,
				       sizeof(initrd), err);
	if (r == 0)
		r = write_main_exec(b, p, &user, err);
	/* A copy workspace is work.img, as on oci, with the VM's own ids:
	 * the guest mounts it as its disk (/dev/vda) at /work. */
	if (r == 0 && b->manifest.workspace_mode == BF_WORKSPACE_COPY)
		r = bf_disk_image_ensure(b, p->run_dir, "work", b->manifest.workspace_path, user.uid,
					 user.gid, err);
	/* The home, as on oci: persistent per bottle, the guest user's. */
	if (r == 0)
		r = bf_disk_image_ensure(b, p->run_dir, "home", NULL, user.uid, user.gid, err);
	if (r < 0)
		return r;
	if (b->manifest.workspace_mode == BF_WORKSPACE_COPY)
		snprintf(drive, sizeof(drive), "file=%s/work.img,if=none,format=raw,id=work", p->run_dir);
	snprintf(home_drive, sizeof(home_drive), "file=%s/home.img,if=none,format=raw,id=home", p->run_dir);
	bf_guest_home(&b->manifest, home, sizeof(home));
	r = prepare_fwd_dir(b, p, err);
	if (r < 0)
		return r;
	memset(run, 0, sizeof(*run));
	vm_run(run)->qemu_id = b->meta.id_base;
	snprintf(runas, sizeof(runas), "%llu:%llu", b->meta.id_base, b->meta.id_base);
	accel = accel_choice(accel_why, sizeof(accel_why));
	/* TCG's translation cache defaults to 1 GiB, and a guest's boot
	 * touches half of it: 64 MiB keeps QEMU's host memory near the
	 * guest's own for a small cost in retranslation. */
	if (!strcmp(accel, "tcg"))
		snprintf(accel_opt, sizeof(accel_opt), "tcg,tb-size=%s", getenv("BOTTLEFS_VM_TB_MB") ? getenv("BOTTLEFS_VM_TB_MB") : "64");
	else
		snprintf(accel_opt, sizeof(accel_opt), "%s", accel);
	cpu = getenv("BOTTLEFS_VM_CPU") ? getenv("BOTTLEFS_VM_CPU") : (strcmp(accel, "kvm") ? "max" : "host");
	strlcpy(vm_run(run)->accel, accel, sizeof(vm_run(run)->accel));
	strlcpy(vm_run(run)->kernel, release, sizeof(vm_run(run)->kernel));
	run_file(p, "exit", sock, sizeof(sock));
	unlink(sock);
	snprintf(mem, sizeof(mem), "%lldM",
		 b->manifest.memory > 0 ? (b->manifest.memory + (1 << 20) - 1) >> 20 : DEFAULT_MEMORY_MB);
	snprintf(cpus, sizeof(cpus), "%lld", b->manifest.cpus > 0 ? b->manifest.cpus : 1);
	/* Under TCG the kernel's early clock calibration can fail and then
	 * wait forever (1 boot in 12 on an idle host here, every boot on a
	 * busy one): it is told the clock's rate, the host's. */
	host_tsc_khz(tsc, sizeof(tsc));
	/* .15: the first address QEMU's user network would lease. */
	snprintf(guest_ip, sizeof(guest_ip), "192.168.%u.15", b->subnet.octet);
	snprintf(cmdline, sizeof(cmdline),
		 "console=ttyS0 quiet loglevel=3 panic=-1 %s bottlefs.ip=%s/24 bottlefs.gw=%s bottlefs.proxy=%s bottlefs.host=%s bottlefs.disks=%d bottlefs.home=%s bottlefs.pids=%lld bottlefs.tmp=%lld",
		 tsc, guest_ip, b->subnet.gateway, b->subnet.proxy, b->name, drive[0] ? 2 : 1, home,
		 b->manifest.pids, b->manifest.tmp);
	if (host)
		strlcat(cmdline, " bottlefs.usr=virtiofs", sizeof(cmdline));
	/* Restricted: the guest reaches the host and the world through the
	 * sidecar ports on the proxy address only (network.yaml's
	 * port_forwards), each connection handed to the daemon's listener. */
	r = snprintf(netdev, sizeof(netdev), "user,id=n0,restrict=on,net=%s,host=%s,dhcpstart=%s",
		     b->subnet.cidr, b->subnet.gateway, guest_ip);
	{
		int ports[3] = { BF_PORT_EGRESS, b->manifest.git_gate ? BF_PORT_GIT_GATE : 0,
				 b->manifest.supervise ? BF_PORT_SUPERVISE : 0 };

		for (size_t i = 0; i < 3 && r > 0 && (size_t)r < sizeof(netdev); i++)
			if (ports[i])
				r += snprintf(netdev + r, sizeof(netdev) - (size_t)r,
					      ",guestfwd=tcp:%s:%d-cmd:%s %s/fwd/%d.sock", b->subnet.proxy,
					      ports[i], fwd, p->run_dir, ports[i]);
	}
	if (r < 0 || (size_t)r >= sizeof(netdev))
		return bf_error_set(err, ENAMETOOLONG, "the VM's network options are too long");
	run_file(p, "agent.sock", sock, sizeof(sock));
	unlink(sock);
	snprintf(chardev, sizeof(chardev), "socket,id=agent,path=%s,server=on,wait=off", sock);
	run_file(p, "qmp.sock", sock, sizeof(sock));
	unlink(sock);
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", sock);
	snprintf(log_max, sizeof(log_max), "%lld", p->log_max);
	if (host) {
		snprintf(share, sizeof(share), "--virtiofs=%s:/usr", virtiofsd);
		snprintf(memobj, sizeof(memobj), "memory-backend-memfd,id=mem,size=%s,share=on", mem);
		run_file(p, "vfs.sock", sock, sizeof(sock));
		snprintf(vfs_chardev, sizeof(vfs_chardev), "socket,id=vfs,path=%s", sock);
	}
	log_fd = open(p->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return bf_error_set(err, errno, "open %s: %s", p->log, strerror(errno));
	if (pipe2(report, O_CLOEXEC) < 0)
		return bf_error_set(err, errno, "pipe: %s", strerror(errno));
	{
		const char *fixed[] = { "-M", host ? "microvm,memory-backend=mem" : "microvm",
					"-accel", accel_opt, "-cpu", cpu,
					"-m", mem, "-smp", cpus, "-nodefaults", "-no-user-config",
					"-nographic", "-no-reboot", "-serial", "stdio",
					"-kernel", vmlinuz, "-initrd", initrd, "-append", cmdline,
					"-device", "virtio-serial-device", "-chardev", chardev,
					"-device", "virtserialport,chardev=agent,name=bottlefs.agent",
					"-netdev", netdev, "-device", "virtio-net-device,netdev=n0",
					"-qmp", qmp, "-runas", runas,
					"-sandbox", "on,obsolete=deny,resourcecontrol=deny",
					"-drive", home_drive, "-device", "virtio-blk-device,drive=home,serial=home" };
		char *argv[96];
		size_t end = 0;

		argv[end++] = BF_VM_SHIM_NAME;
		argv[end++] = (char *)p->run_dir;
		argv[end++] = log_max;
		if (host)
			argv[end++] = share;
		argv[end++] = qemu;
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			argv[end++] = (char *)fixed[i];
		/* The agent finds each disk by its serial. */
		if (drive[0]) {
			argv[end++] = "-drive";
			argv[end++] = drive;
			argv[end++] = "-device";
			argv[end++] = "virtio-blk-device,drive=work,serial=work";
		}
		/* The host's /usr: vhost-user (virtiofsd, started by the shim)
		 * needs the guest's memory shared and virtio 1.0 devices. */
		if (host) {
			argv[end++] = "-object";
			argv[end++] = memobj;
			argv[end++] = "-global";
			argv[end++] = "virtio-mmio.force-legacy=false";
			argv[end++] = "-chardev";
			argv[end++] = vfs_chardev;
			argv[end++] = "-device";
			argv[end++] = "vhost-user-fs-device,chardev=vfs,tag=hostusr";
		}
		argv[end] = NULL;

		pid = bf_spawn_exe(shim, argv, -1, log_fd, log_fd, report[1]);
	}
	close(report[1]);
	if (pid < 0) {
		close(report[0]);
		return bf_error_set(err, -pid, "cannot run the shim: %s", strerror(-pid));
	}
	r = bf_shim_read_report(report[0], line, sizeof(line));
	close(report[0]);
	if (r < 0 || sscanf(line, "running %ld %ld %7s", &qemu_pid, &shim_pid, used) != 3) {
		waitpid(pid, &status, 0);
		return bf_error_set(err, EIO, "the VM did not start (%s): see log and %s/console", accel,
				    p->run_dir);
	}
	if (strcmp(used, accel) != 0)
		kvm_failed = true;      /* the shim fell back: so do later starts */
	strlcpy(vm_run(run)->accel, used, sizeof(vm_run(run)->accel));
	run->pid = (pid_t)qemu_pid;
	run->guest_uid = user.uid;
	run->guest_gid = user.gid;
	run->started_at = time(NULL);
	vm_run(run)->shim.pid = (pid_t)shim_pid;
	bf_shim_ident_record(&vm_run(run)->shim);
	return 0;
}

/* --- the running VM */

static int verify_shim(const struct bf_run *run, struct bf_error *err)
{
	return bf_shim_ident_verify(&vm_run_const(run)->shim, err);
}

static int microvm_watch(const struct bf_run *run, struct bf_error *err)
{
	int fd = pidfd_open(vm_run_const(run)->shim.pid, 0), r;

	if (vm_run_const(run)->shim.pid <= 0)
		return bf_error_set(err, ESRCH, "no shim recorded");
	if (fd < 0)
		return bf_error_set(err, ESRCH, "shim %d: %s", (int)vm_run_const(run)->shim.pid,
				    strerror(errno));
	/* Checked after opening: the pidfd pins the identity verified. */
	r = verify_shim(run, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int mux_path(const struct bf_run *run, char *out, size_t len)
{
	/* The shim's cwd is not ours to know; its run dir is in its argv. */
	char path[64], buf[4096];
	cleanup_close int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)vm_run_const(run)->shim.pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* argv[0] NUL argv[1]=RUN_DIR NUL ... */
	if (strlen(buf) + 1 >= (size_t)n)
		return -ESRCH;
	if ((size_t)snprintf(out, len, "%s/mux.sock", buf + strlen(buf) + 1) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int connect_mux(const struct bf_run *run, struct bf_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	r = verify_shim(run, err);
	if (r < 0)
		return r;
	if (mux_path(run, sa.sun_path, sizeof(sa.sun_path)) < 0)
		return bf_error_set(err, ESRCH, "the VM's shim is gone");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return bf_error_set(err, errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno;
		close(fd);
		return bf_error_set(err, r == ENOENT || r == ECONNREFUSED ? ESRCH : r,
				    "the VM's shim does not answer: %s", strerror(r));
	}
	return fd;
}

static int microvm_signal(const struct bf_run *run, int sig, struct bf_error *err)
{
	int fd = connect_mux(run, err), r;

	if (fd < 0)
		return fd;
	r = bf_vm_link_send_u32(fd, BF_VM_CHAN_MAIN, BF_VM_SIGNAL, (uint32_t)sig);
	close(fd);
	/* KILL ends the VM itself: a guest that does not answer still ends. */
	if (sig == SIGKILL && run->pid > 0) {
		struct bf_proc_ident q;

		if (bf_proc_ident_read(run->pid, &q) == 0 && q.ppid == vm_run_const(run)->shim.pid)
			kill(run->pid, SIGKILL);
	}
	return r < 0 ? bf_error_set(err, -r, "signal: %s", strerror(-r)) : 0;
}

static int microvm_collect(const struct bf_paths *p, struct bf_run *run, struct bf_error *err)
{
	static const char *const leftovers[] = { "initrd", "main.exec", "agent.sock", "mux.sock",
						 "qmp.sock", "vfs.sock", "fwd/8888.sock", "fwd/9418.sock",
						 "fwd/9100.sock", NULL };
	char path[PATH_MAX];
	size_t i;

	(void)err;
	if (vm_run_const(run)->shim.pid > 0)
		waitpid(vm_run_const(run)->shim.pid, NULL, WNOHANG);
	run_file(p, "exit", path, sizeof(path));
	run->stopped_at = time(NULL);
	bf_exit_file_read(path, run);
	for (i = 0; leftovers[i]; i++) {
		run_file(p, leftovers[i], path, sizeof(path));
		unlink(path);
	}
	return 0;
}

/* NAME/workspace/: the copy, from work.img mounted read-only by itself,
 * while the VM is stopped. A running VM's disk is in its kernel's hands
 * (a mount of it from the host would see a half-written filesystem). */
static int microvm_workspace_view(const struct bf_run *run, const struct bf_paths *p, int *out,
				  struct bf_error *err)
{
	char path[PATH_MAX];

	if (run)
		return bf_error_set(err, EBUSY, "the VM has its workspace mounted: stop it to look at the copy");
	snprintf(path, sizeof(path), "%s/work.img", p->run_dir);
	return bf_image_view_open(path, "work", out, err);
}

/* The listener for guest connections to a sidecar port: RUN_DIR/fwd/PORT.sock,
 * where bottlefs-vm-fwd hands each one over (egress_proxy.c takes the fd). */
static int microvm_sidecar_listen(const struct bf_run *run, int port, struct bf_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char mux[PATH_MAX];
	mode_t old;
	int fd, r;

	r = verify_shim(run, err);
	if (r < 0)
		return r;
	if (mux_path(run, mux, sizeof(mux)) < 0)
		return bf_error_set(err, ESRCH, "the VM's shim is gone");
	*strrchr(mux, '/') = '\0';
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/fwd/%d.sock", mux, port) >=
	    sizeof(sa.sun_path))
		return bf_error_set(err, ENAMETOOLONG, "sidecar socket path too long");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return bf_error_set(err, errno, "socket: %s", strerror(errno));
	unlink(sa.sun_path);
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		r = errno;
		umask(old);
		close(fd);
		return bf_error_set(err, r, "sidecar socket %s: %s", sa.sun_path, strerror(r));
	}
	umask(old);
	/* QEMU's forwarder runs as the bottle's id: only it may connect. */
	if (vm_run_const(run)->qemu_id &&
	    (chown(sa.sun_path, 0, (gid_t)vm_run_const(run)->qemu_id) < 0 ||
	     chmod(sa.sun_path, 0660) < 0)) {
		r = errno;
		close(fd);
		return bf_error_set(err, r, "sidecar socket %s: %s", sa.sun_path, strerror(r));
	}
	return fd;
}

/* --- exec */

struct vm_spawn {
	const struct bf_exec_request *req;
	char mux[PATH_MAX];
};

/* A host terminal pair for a session's helper: the slave (returned) in
 * raw mode, so bytes pass as they are to and from the guest's terminal;
 * the master, of `size`, in *master. -errno on failure. */
static int host_terminal(const struct winsize *size, int *master)
{
	char name[64];
	struct termios t;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s, e;

	if (m < 0)
		return -errno;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0 ||
	    ioctl(m, TIOCSWINSZ, size) < 0)
		goto fail;
	s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		goto fail;
	if (tcgetattr(s, &t) < 0) {
		e = errno;
		close(s);
		close(m);
		return -e;
	}
	cfmakeraw(&t);
	if (tcsetattr(s, TCSANOW, &t) < 0) {
		e = errno;
		close(s);
		close(m);
		return -e;
	}
	*master = m;
	return s;
fail:
	e = errno;
	close(m);
	return -e;
}

static pid_t spawn_helper(void *ctx, const char *cmd, const struct bf_exec_io *io, int report_fd,
			  struct bf_error *err)
{
	struct vm_spawn *v = ctx;
	struct bf_buf fields = { 0 };
	char exe[PATH_MAX], **argv;
	size_t n = 0, i, at;
	pid_t pid;

	if (bf_libexec_path(BF_VM_EXEC_NAME, exe, sizeof(exe)) < 0)
		return bf_error_set(err, ENOENT, "%s is not installed", BF_VM_EXEC_NAME);
	exec_fields(&fields, v->req->run->guest_uid, v->req->run->guest_gid, v->req->workdir,
		    v->req->env, 0);
	if (io->pty_master) {
		char size[32];

		snprintf(size, sizeof(size), "%ux%u", (unsigned)io->pty_size->ws_col,
			 (unsigned)io->pty_size->ws_row);
		bf_vm_exec_field(&fields, "pty", size);
	}
	bf_vm_exec_field(&fields, "arg", "/bin/sh");
	bf_vm_exec_field(&fields, "arg", "-c");
	bf_vm_exec_field(&fields, "arg", cmd);
	if (bf_buf_finish(&fields) < 0)
		return bf_error_set(err, ENOMEM, "out of memory");
	for (i = 0; i < fields.len; i++)
		n += fields.data[i] == '\0';
	argv = calloc(n + 3, sizeof(char *));
	if (!argv) {
		bf_buf_free(&fields);
		return bf_error_set(err, ENOMEM, "out of memory");
	}
	argv[0] = BF_VM_EXEC_NAME;
	argv[1] = v->mux;
	for (i = 0, at = 0; i < n; i++) {
		argv[2 + i] = fields.data + at;
		at += strlen(fields.data + at) + 1;
	}
	if (io->pty_master) {
		/* The guest's terminal is in the VM; on the host the helper
		 * holds a raw one whose master the session reads, writes,
		 * resizes (the helper passes sizes on) and ends with VEOF. */
		int master = -1, slave = host_terminal(io->pty_size, &master);

		if (slave < 0) {
			pid = slave;
		} else {
			pid = bf_spawn_exe(exe, argv, slave, slave, slave, report_fd);
			close(slave);
			if (pid < 0)
				close(master);
			else
				*io->pty_master = master;
		}
	} else {
		pid = bf_spawn_exe(exe, argv, io->stdin_fd, io->stdout_fd, io->stderr_fd, report_fd);
	}
	free(argv);
	bf_buf_free(&fields);
	if (pid < 0)
		return bf_error_set(err, -pid, "cannot run %s: %s", BF_VM_EXEC_NAME, strerror(-pid));
	return pid;
}

static int microvm_exec(const struct bf_exec_request *req, struct bf_exec_session *s, const char *cmd,
			struct bf_error *err)
{
	struct vm_spawn v = { req, "" };
	int r = verify_shim(req->run, err);

	if (r < 0)
		return r;
	if (mux_path(req->run, v.mux, sizeof(v.mux)) < 0)
		return bf_error_set(err, ESRCH, "the VM's shim is gone");
	return bf_exec_start(s, cmd, spawn_helper, &v, err);
}

static int microvm_destroy(const struct bf_bottle *b, const struct bf_paths *p, struct bf_error *err)
{
	int r;

	(void)b;
	/* rmdir stopped the VM its record knows; one it does not know (a
	 * start the daemon did not finish) is found by its run dir. */
	r = kill_vm_of(p->run_dir, err);
	if (r < 0)
		return r;
	return bf_remove_tree(p->run_dir, err);
}

/* --- MNT/cleanup: VMs whose bottle is gone */

struct orphan_scan {
	char *const *known;     /* identities: NAME-xxxxxxxx */
	size_t n_known;
	void (*emit)(void *ctx, const char *type, const char *id, const char *what);
	void *ctx;
	char run_root[PATH_MAX];
	char seen[16][256];     /* a VM has a shim and a QEMU: one line */
	size_t n_seen;
};

static bool known_name(const struct orphan_scan *o, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < o->n_known; i++)
		if (strncmp(o->known[i], name, len) == 0 && o->known[i][len] == '-' &&
		    strlen(o->known[i] + len + 1) == 8)
			return true;
	return false;
}

static int orphan_found(void *ctx, const char *name, pid_t pid, int pidfd)
{
	struct orphan_scan *o = ctx;
	char what[PATH_MAX + 128];

	(void)pidfd;
	if (known_name(o, name))
		return 0;
	for (size_t i = 0; i < o->n_seen; i++)
		if (strcmp(o->seen[i], name) == 0)
			return 0;
	if (o->n_seen < sizeof(o->seen) / sizeof(o->seen[0]))
		strlcpy(o->seen[o->n_seen++], name, sizeof(o->seen[0]));
	snprintf(what, sizeof(what), "a VM (pid %d) in %s/%s whose bottle is gone: its shim and QEMU are killed",
		 (int)pid, o->run_root, name);
	o->emit(o->ctx, "microvm-vm", name, what);
	return 0;
}

static int microvm_orphans(const char *state_dir, char *const *known, size_t n_known,
			   void (*emit)(void *ctx, const char *type, const char *id, const char *what),
			   void *ctx, struct bf_error *err)
{
	struct orphan_scan *o = calloc(1, sizeof(*o));
	struct bf_vm_exes exes;
	int r;

	if (!o)
		return bf_error_set(err, ENOMEM, "out of memory");
	*o = (struct orphan_scan){ known, n_known, emit, ctx, "", { { 0 } }, 0 };
	snprintf(o->run_root, sizeof(o->run_root), "%s/run", state_dir);
	bf_vm_exes_find(&exes);
	r = bf_vm_procs_each(o->run_root, &exes, orphan_found, o, err);
	free(o);
	return r;
}

static int microvm_remove_orphan(const char *state_dir, const char *type, const char *id,
				 struct bf_error *err)
{
	char run_dir[PATH_MAX];
	int r;

	if (strcmp(type, "microvm-vm") != 0 || strchr(id, '/') || id[0] == '.')
		return bf_error_set(err, EINVAL, "not a microvm orphan: %s %s", type, id);
	snprintf(run_dir, sizeof(run_dir), "%s/run/%s", state_dir, id);
	r = kill_vm_of(run_dir, err);
	return r < 0 ? r : 0;
}

const struct bf_backend bf_backend_microvm = {
	.name = "microvm",
	.own_kernel = true,
	.preflight = microvm_preflight,
	.check_manifest = microvm_check_manifest,
	.guest_sidecar_host = microvm_guest_sidecar_host,
	.run_save = microvm_run_save,
	.run_load = microvm_run_load,
	.run_render = microvm_run_render,
	.run_describe = microvm_run_describe,
	.start = microvm_start,
	.signal = microvm_signal,
	.watch = microvm_watch,
	.collect = microvm_collect,
	.exec = microvm_exec,
	.sidecar_listen = microvm_sidecar_listen,
	.orphans = microvm_orphans,
	.remove_orphan = microvm_remove_orphan,
	.workspace_view = microvm_workspace_view,
	.destroy = microvm_destroy,
};
