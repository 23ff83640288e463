#include "oci_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "../cleanup.h"
#include "../host_etc_template.h"
#include "../guest_caps.h"
#include "../idmap.h"


static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", "/sys/devices/virtual/powercap", NULL,
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_object *str_array(const char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; a && (n ? i < n : v[i] != NULL); i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void add_mount(json_object *mounts, const char *dest, const char *type,
		      const char *source, const char *const *options)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "destination", json_object_new_string(dest));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(source));
	json_object_object_add(m, "options", str_array(options, 0));
	json_object_array_add(mounts, m);
}

static const char *const ro_bind[] = { "rbind", "ro", "nosuid", "nodev", NULL };
static const char *const rw_bind[] = { "rbind", "rw", "nosuid", "nodev", NULL };

/* A path image's top-level entries, bound read-only over rootfs/'s mount
 * points (the image itself is never written). */
static void add_image_mounts(json_object *mounts, const char *image)
{
	cleanup_closedir DIR *d = opendir(image);
	struct dirent *de;
	char src[PATH_MAX], dest[PATH_MAX];

	while (d && (de = readdir(d))) {
		struct stat st;

		if (bf_oci_image_entry_ours(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
			continue;
		snprintf(src, sizeof(src), "%s/%s", image, de->d_name);
		snprintf(dest, sizeof(dest), "/%s", de->d_name);
		add_mount(mounts, dest, "bind", src, ro_bind);
	}
}

/* A host image's /etc: the shared copy with the bottle's own passwd and
 * group over it, or the whole copy of a bottle first started before
 * copies were shared (oci_rootfs.h). */
static void add_host_etc(json_object *mounts, const char *run_dir)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/etc", run_dir);
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		add_mount(mounts, "/etc", "bind", path, ro_bind);
		return;
	}
	snprintf(path, sizeof(path), "%s/" BF_HOST_ETC_LINK, run_dir);
	add_mount(mounts, "/etc", "bind", realpath(path, real) ? real : path, ro_bind);
	snprintf(path, sizeof(path), "%s/" BF_OCI_ETC_USER "/passwd", run_dir);
	add_mount(mounts, "/etc/passwd", "bind", path, ro_bind);
	snprintf(path, sizeof(path), "%s/" BF_OCI_ETC_USER "/group", run_dir);
	add_mount(mounts, "/etc/group", "bind", path, ro_bind);
}

static json_object *make_mounts(const struct bf_bottle *b, const char *run_dir,
				const char *init_path, const struct bf_guest_user *user)
{
	static const char *const proc_opts[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const dev_opts[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	static const char *const pts_opts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL };
	static const char *const shm_opts[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
	static const char *const mq_opts[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const sys_opts[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	const struct bf_manifest *m = &b->manifest;
	json_object *mounts = json_object_new_array();
	char path[PATH_MAX], tmp_size[48];
	const char *tmp_opts[] = { "nosuid", "nodev", "mode=1777", tmp_size, NULL };

	/* /tmp (and a none-mode /work) hold at most [limits] tmp each. */
	snprintf(tmp_size, sizeof(tmp_size), "size=%lld", m->tmp);

	add_mount(mounts, "/proc", "proc", "proc", proc_opts);
	add_mount(mounts, "/dev", "tmpfs", "tmpfs", dev_opts);
	add_mount(mounts, "/dev/pts", "devpts", "devpts", pts_opts);
	add_mount(mounts, "/dev/shm", "tmpfs", "shm", shm_opts);
	add_mount(mounts, "/dev/mqueue", "mqueue", "mqueue", mq_opts);
	add_mount(mounts, "/sys", "sysfs", "sysfs", sys_opts);
	add_mount(mounts, "/tmp", "tmpfs", "tmpfs", tmp_opts);
	if (strcmp(m->image, "host") == 0) {
		add_mount(mounts, "/usr", "bind", "/usr", ro_bind);
		for (size_t i = 0; bf_oci_host_dirs[i]; i++) {
			struct stat st;

			snprintf(path, sizeof(path), "/%s", bf_oci_host_dirs[i]);
			if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
				add_mount(mounts, path, "bind", path, ro_bind);
		}
		add_host_etc(mounts, run_dir);
	} else {
		add_image_mounts(mounts, m->image);
	}
	add_mount(mounts, BF_OCI_INIT_PATH, "bind", init_path, ro_bind);
	/* Tool mounts ([[mount]]): read-only unless rw, never suid or dev. */
	for (size_t i = 0; i < m->mounts_len; i++)
		add_mount(mounts, m->mounts[i].target, "bind", m->mounts[i].source,
			  m->mounts[i].rw ? rw_bind : ro_bind);
	{
		char home[64];

		/* The shim mounts home.img at homefs/. */
		bf_guest_home(m, home, sizeof(home));
		snprintf(path, sizeof(path), "%s/homefs/home", run_dir);
		add_mount(mounts, home, "bind", path, rw_bind);
	}
	switch (m->workspace_mode) {
	case BF_WORKSPACE_BIND:
		/* The shim attaches the idmapped workspace here. */
		snprintf(path, sizeof(path), "%s/workspace", run_dir);
		add_mount(mounts, "/work", "bind", path, rw_bind);
		break;
	case BF_WORKSPACE_COPY:
		/* The shim mounts work.img at workfs/; older bottles have work/. */
		snprintf(path, sizeof(path), user->work_image ? "%s/workfs/work" : "%s/work", run_dir);
		add_mount(mounts, "/work", "bind", path, rw_bind);
		break;
	default:
		add_mount(mounts, "/work", "tmpfs", "tmpfs", tmp_opts);
	}
	return mounts;
}

static json_object *make_process(const struct bf_bottle *b, const struct bf_guest_user *user)
{
	json_object *p = json_object_new_object();
	json_object *u = json_object_new_object();
	json_object *caps = json_object_new_object();
	json_object *rlimits = json_object_new_array();
	json_object *nofile = json_object_new_object();
	static const char *const sets[] = { "bounding", "effective", "permitted" };
	json_object *args = json_object_new_array();
	struct rlimit fds;
	size_t i;

	json_object_object_add(p, "terminal", json_object_new_boolean(0));
	json_object_object_add(u, "uid", json_object_new_int64(user->uid));
	json_object_object_add(u, "gid", json_object_new_int64(user->gid));
	json_object_object_add(p, "user", u);
	/* Our init is PID 1: it loads the syscall filter, forwards signals to
	 * the command and reaps orphans. */
	json_object_array_add(args, json_object_new_string(BF_OCI_INIT_PATH));
	for (i = 0; i < b->manifest.seccomp_allow_len; i++) {
		json_object_array_add(args, json_object_new_string("-s"));
		json_object_array_add(args, json_object_new_string(b->manifest.seccomp_allow[i]));
	}
	json_object_array_add(args, json_object_new_string("--"));
	for (i = 0; i < b->manifest.command_len; i++)
		json_object_array_add(args, json_object_new_string(b->manifest.command[i]));
	json_object_object_add(p, "args", args);
	json_object_object_add(p, "env", str_array((const char *const *)b->env, b->env_len));
	json_object_object_add(p, "cwd", json_object_new_string(b->manifest.workdir));
	for (i = 0; i < 3; i++) {
		json_object *set = json_object_new_array();

		for (size_t c = 0; user->uid == 0 && c < bf_guest_root_caps_len; c++)
			json_object_array_add(set, json_object_new_string(bf_guest_root_caps[c].name));
		json_object_object_add(caps, sets[i], set);
	}
	json_object_object_add(p, "capabilities", caps);
	/* The guest may not exceed what the daemon itself may open. */
	if (getrlimit(RLIMIT_NOFILE, &fds) < 0 || fds.rlim_max > 65536)
		fds.rlim_max = 65536;
	json_object_object_add(nofile, "type", json_object_new_string("RLIMIT_NOFILE"));
	json_object_object_add(nofile, "hard", json_object_new_int64((int64_t)fds.rlim_max));
	json_object_object_add(nofile, "soft", json_object_new_int64((int64_t)fds.rlim_max));
	json_object_array_add(rlimits, nofile);
	json_object_object_add(p, "rlimits", rlimits);
	json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(1));
	return p;
}

static json_object *make_resources(const struct bf_manifest *m)
{
	json_object *r = json_object_new_object();

	if (m->memory > 0) {
		json_object *mem = json_object_new_object();

		json_object_object_add(mem, "limit", json_object_new_int64(m->memory));
		json_object_object_add(r, "memory", mem);
	}
	if (m->pids) {
		json_object *pids = json_object_new_object();

		json_object_object_add(pids, "limit", json_object_new_int64(m->pids));
		json_object_object_add(r, "pids", pids);
	}
	if (m->cpus) {
		json_object *cpu = json_object_new_object();

		json_object_object_add(cpu, "period", json_object_new_int64(100000));
		json_object_object_add(cpu, "quota", json_object_new_int64(m->cpus * 100000));
		json_object_object_add(r, "cpu", cpu);
	}
	return r;
}

static json_object *id_mappings(unsigned long long base)
{
	json_object *a = json_object_new_array();
	json_object *m = json_object_new_object();

	json_object_object_add(m, "containerID", json_object_new_int64(0));
	json_object_object_add(m, "hostID", json_object_new_int64((int64_t)base));
	json_object_object_add(m, "size", json_object_new_int64(BF_IDS_PER_BOTTLE));
	json_object_array_add(a, m);
	return a;
}

static json_object *make_linux(const struct bf_bottle *b)
{
	static const char *const ns[] = { "user", "pid", "network", "ipc", "uts", "mount", "cgroup" };
	json_object *l = json_object_new_object();
	json_object *namespaces = json_object_new_array();
	char cgroup[160];
	size_t i;

	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		json_object *n = json_object_new_object();

		json_object_object_add(n, "type", json_object_new_string(ns[i]));
		json_object_array_add(namespaces, n);
	}
	json_object_object_add(l, "namespaces", namespaces);
	/* Guest ids are the bottle's own host range: guest root is nobody on
	 * the host. */
	json_object_object_add(l, "uidMappings", id_mappings(b->meta.id_base));
	json_object_object_add(l, "gidMappings", id_mappings(b->meta.id_base));
	json_object_object_add(l, "resources", make_resources(&b->manifest));
	snprintf(cgroup, sizeof(cgroup), "bottlefs/%s", b->meta.identity);
	json_object_object_add(l, "cgroupsPath", json_object_new_string(cgroup));
	json_object_object_add(l, "maskedPaths", str_array(masked_paths, 0));
	json_object_object_add(l, "readonlyPaths", str_array(readonly_paths, 0));
	return l;
}

int bf_oci_write_config(const struct bf_bottle *b, const char *run_dir,
			const struct bf_guest_user *user, struct bf_error *err)
{
	char init_path[PATH_MAX];
	json_object *c = json_object_new_object();
	json_object *root = json_object_new_object();
	char path[PATH_MAX], rootfs[PATH_MAX];
	const char *text;
	cleanup_close int fd = -1;
	int r = 0;

	if (bf_oci_find_init(init_path, sizeof(init_path)) < 0)
		return bf_error_set(err, ENOENT, "bottlefs-init is not installed (looked beside bottlefs and in %s)",
				    BOTTLEFS_LIBEXECDIR);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", run_dir);
	json_object_object_add(c, "ociVersion", json_object_new_string("1.0.2"));
	json_object_object_add(root, "path", json_object_new_string(rootfs));
	json_object_object_add(root, "readonly", json_object_new_boolean(1));
	json_object_object_add(c, "root", root);
	json_object_object_add(c, "hostname", json_object_new_string(b->name));
	json_object_object_add(c, "process", make_process(b, user));
	json_object_object_add(c, "mounts", make_mounts(b, run_dir, init_path, user));
	json_object_object_add(c, "linux", make_linux(b));
	text = json_object_to_json_string_ext(c, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(path, sizeof(path), "%s/config.json", run_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!text || fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		r = bf_error_set(err, errno ? errno : ENOMEM, "writing %s: %s", path, strerror(errno));
	json_object_put(c);
	return r;
}
