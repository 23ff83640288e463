/* Docker Engine: a `--network none` container per bottle, made through
 * the engine's API. The guest is a host process, so signals, exec
 * sessions and sidecar listeners go to it directly (guest_process.h),
 * verified by its start time; the engine is asked only to create, start,
 * inspect and remove. Its PID 1 is bottlefs-init (the syscall filter,
 * signal forwarding, reaping), bind-mounted read-only as for oci. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <bsd/string.h>

#include "../backends.h"
#include "../bind_workspace.h"
#include "../bottle.h"
#include "../cleanup.h"
#include "../copy_tree.h"
#include "../disk_image.h"
#include "../guest_caps.h"
#include "../guest_process.h"
#include "../guest_user.h"
#include "../host_mounts.h"
#include "../idmap.h"
#include "../image_view.h"
#include "../json_get.h"
#include "../manifest.h"
#include "../proc_ident.h"
#include "../spawn.h"
#include "../oci/oci_rootfs.h"
#include "docker_api.h"
#include "docker_labels.h"
#include "docker_log.h"
#include "docker_run.h"

/* The helper that attaches an idmapped bind workspace. */
#define BF_DOCKER_BIND_NAME "bottlefs-docker-bind"

/* The first guest id given to a user the image does not name. */
#define AGENT_UID 1000

static int docker_preflight(char *about, size_t len, struct bf_error *err)
{
	char version[128];
	int r = bf_probe_unix_socket(bf_docker_socket());

	if (r < 0)
		return bf_error_set(err, -r, "docker engine not reachable at %s: %s",
				    bf_docker_socket(), strerror(-r));
	r = bf_docker_version(version, sizeof(version), err);
	if (r == 0)
		snprintf(about, len, "Docker Engine %s at %s", version, bf_docker_socket());
	return r;
}

static int docker_check_manifest(const struct bf_manifest *m, struct bf_error *err)
{
	if (strcmp(m->image, "host") == 0)
		return bf_error_set(err, EINVAL, "docker needs an image reference, not \"host\"");
	if (m->kernel)
		return bf_error_set(err, EINVAL, "kernel is for microvm bottles (a docker guest runs on the host's kernel)");
	return 0;
}

/* A --network none container has its own namespace, like oci. */
static const char *docker_guest_sidecar_host(const char *proxy_ip)
{
	(void)proxy_ip;
	return "127.0.0.1";
}

/* What the engine says of itself in one call: its version, and whether
 * it maps user namespaces (dockerd --userns-remap) and to which host ids:
 * its root dir then ends in "/UID.GID", the host ids of container id 0. */
struct engine {
	char version[64];
	bool userns;
	unsigned long long remap_uid, remap_gid;
};

static int engine_info(struct engine *e, struct bf_error *err)
{
	json_object *info = NULL, *opts, *v;
	int r = bf_docker_call("GET", "/info", NULL, &info, err);
	const char *root, *slash;

	memset(e, 0, sizeof(*e));
	if (r < 0)
		return r;
	if (json_object_object_get_ex(info, "SecurityOptions", &opts) &&
	    json_object_is_type(opts, json_type_array))
		for (size_t i = 0; i < json_object_array_length(opts); i++) {
			json_object *o = json_object_array_get_idx(opts, i);

			if (o && strstr(json_object_get_string(o), "name=userns"))
				e->userns = true;
		}
	if (json_object_object_get_ex(info, "ServerVersion", &v))
		strlcpy(e->version, json_object_get_string(v), sizeof(e->version));
	root = bf_json_str(info, "DockerRootDir");
	slash = root ? strrchr(root, '/') : NULL;
	if (e->userns && (!slash || sscanf(slash + 1, "%llu.%llu", &e->remap_uid, &e->remap_gid) != 2 ||
			  !e->remap_uid)) {
		r = bf_error_set(err, ENOTSUP, "the engine maps user namespaces, but its root dir (%s) does not say to which host ids",
				 root ? root : "?");
	}
	json_object_put(info);
	return r;
}

/* One file of a tar stream (the engine's archive of a path): its
 * contents, or NULL. */
static const char *tar_first_file(const char *tar, size_t len, size_t *size)
{
	unsigned long n;

	if (len < 512 || tar[156] == '5')
		return NULL;
	n = strtoul(tar + 124, NULL, 8);
	if (n > len - 512)
		return NULL;
	*size = n;
	return tar + 512;
}

/* The image's entry for `name` in its /etc/passwd: 1 found, 0 not. Read
 * through a container made for it and not started. */
static int image_passwd_lookup(const char *image, const char *name, uid_t *uid, gid_t *gid)
{
	struct bf_error err = { 0 };
	json_object *create = json_object_new_object(), *made = NULL, *id;
	cleanup_free char *body = NULL;
	char path[256], cid[80] = "";
	int found = 0;

	json_object_object_add(create, "Image", json_object_new_string(image));
	json_object_object_add(create, "Entrypoint", json_object_new_string("/nonexistent"));
	body = strdup(json_object_to_json_string_ext(create, JSON_C_TO_STRING_PLAIN));
	json_object_put(create);
	if (!body || bf_docker_call("POST", "/containers/create", body, &made, &err) < 0)
		return 0;
	if (json_object_object_get_ex(made, "Id", &id))
		strlcpy(cid, json_object_get_string(id), sizeof(cid));
	json_object_put(made);
	if (!cid[0])
		return 0;
	{
		struct bf_buf tar = { 0 };
		size_t size = 0;
		const char *text;

		snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2Fetc%%2Fpasswd", cid);
		if (bf_docker_call_raw("GET", path, NULL, &tar, &err) == 0 &&
		    (text = tar_first_file(tar.data, tar.len, &size))) {
			char *copy = strndup(text, size), *save = NULL, *line;

			for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line && !found;
			     line = strtok_r(NULL, "\n", &save)) {
				char *f_save = NULL, *u = strtok_r(line, ":", &f_save);
				char *us, *gs;

				if (!u || strcmp(u, name) != 0 || !strtok_r(NULL, ":", &f_save) ||
				    !(us = strtok_r(NULL, ":", &f_save)) || !(gs = strtok_r(NULL, ":", &f_save)))
					continue;
				*uid = (uid_t)atol(us);
				*gid = (gid_t)atol(gs);
				found = 1;
			}
			free(copy);
		}
		bf_buf_free(&tar);
	}
	snprintf(path, sizeof(path), "/containers/%s?force=1", cid);
	bf_docker_call("DELETE", path, NULL, NULL, &err);
	return found;
}

/* The image's id, or "" when the engine does not know it. */
static void image_id(const char *image, char *out, size_t len)
{
	struct bf_error ignored = { 0 };
	json_object *o = NULL, *id;
	char path[700], enc[600];

	out[0] = '\0';
	bf_docker_urlencode(image, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/images/%s/json", enc);
	if (bf_docker_call("GET", path, NULL, &o, &ignored) == 0 && json_object_object_get_ex(o, "Id", &id))
		strlcpy(out, json_object_get_string(id), len);
	json_object_put(o);
}

/* A name's ids in the image, remembered per image id in the bottle's
 * storage (RUN_DIR/guest-user): the look into the image costs a
 * container, so it is made once per image. */
static void lookup_remembered(const char *run_dir, const char *image, const char *name, uid_t *uid,
			      gid_t *gid)
{
	char path[PATH_MAX], id[128], want[700];
	unsigned u, g;
	FILE *f;

	image_id(image, id, sizeof(id));
	snprintf(path, sizeof(path), "%s/guest-user", run_dir);
	snprintf(want, sizeof(want), "%s %s ", id, name);
	f = fopen(path, "re");
	if (f) {
		char line[512];
		bool hit = id[0] && fgets(line, sizeof(line), f) && strncmp(line, want, strlen(want)) == 0 &&
			   sscanf(line + strlen(want), "%u %u", &u, &g) == 2;

		fclose(f);
		if (hit) {
			*uid = u;
			*gid = g;
			return;
		}
	}
	if (!image_passwd_lookup(image, name, uid, gid) || *uid == 0)
		*uid = *gid = AGENT_UID;
	if (id[0] && (f = fopen(path, "we"))) {
		fprintf(f, "%s%u %u\n", want, (unsigned)*uid, (unsigned)*gid);
		fclose(f);
	}
}

/* The guest user as the container runs it. Without a user namespace of
 * the engine's, the guest's ids are host ids of the bottle's own range
 * (never an account), and guest root is refused: it would be host root. */
/* user->id_base: what the container's User adds to a guest id (the
 * bottle's base without an engine userns, 0 with one). */
static int resolve_user(const struct bf_bottle *b, const char *run_dir, bool userns,
			struct bf_guest_user *user, struct bf_error *err)
{
	const char *name = b->manifest.user;
	char *end;

	memset(user, 0, sizeof(*user));
	user->id_base = userns ? 0 : b->meta.id_base;
	if (strcmp(name, "root") == 0 || strcmp(name, "0") == 0) {
		if (!userns)
			return bf_error_set(err, EPERM,
					    "user \"root\" on docker needs an engine with user namespaces (dockerd --userns-remap): without them guest root is host root");
		return 0;
	}
	user->uid = (uid_t)strtoul(name, &end, 10);
	if (*name && !*end) {
		user->gid = user->uid;
		return 0;
	}
	lookup_remembered(run_dir, b->manifest.image, name, &user->uid, &user->gid);
	return 0;
}

static void mount_image(const char *run_dir, const char *what, struct bf_error *err, int *r)
{
	char img[PATH_MAX], dir[PATH_MAX];

	if (*r < 0)
		return;
	snprintf(img, sizeof(img), "%s/%s.img", run_dir, what);
	snprintf(dir, sizeof(dir), "%s/%sfs", run_dir, what);
	umount2(dir, MNT_DETACH);       /* left by a daemon that crashed */
	*r = bf_loop_mount(img, dir, err);
}

/* The idmapped workspace at RUN_DIR/workspace in the host's namespace
 * (the engine binds it from there), by a helper: making the user
 * namespace for the map forks, which a threaded daemon leaves to a
 * process of its own. */
static void attach_bind_workspace(const struct bf_bottle *b, const char *run_dir,
				  const struct bf_guest_user *user, unsigned long long host_uid,
				  unsigned long long host_gid, struct bf_error *err, int *r)
{
	char spec[PATH_MAX + 96], target[PATH_MAX];
	char *argv[] = { BF_DOCKER_BIND_NAME, spec, target, NULL };
	pid_t pid;
	int status = 0;

	if (*r < 0)
		return;
	snprintf(target, sizeof(target), "%s/workspace", run_dir);
	umount2(target, MNT_DETACH);    /* left by a daemon that crashed */
	if (mkdir(target, 0700) < 0 && errno != EEXIST) {
		*r = bf_error_set(err, errno, "mkdir %s: %s", target, strerror(errno));
		return;
	}
	bf_bind_workspace_spec(user, host_uid, host_gid, b->manifest.workspace_path, spec, sizeof(spec));
	pid = bf_spawn_exe("/proc/self/exe", argv, -1, -1, -1, -1);
	if (pid < 0) {
		*r = bf_error_set(err, -pid, "cannot run %s: %s", BF_DOCKER_BIND_NAME, strerror(-pid));
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		*r = bf_error_set(err, WIFEXITED(status) && WEXITSTATUS(status) == 2 ? EPERM : EIO,
				  "the bind workspace %s could not be mounted idmapped (see log)",
				  b->manifest.workspace_path);
}

/* argv: NAME SPEC TARGET (bind_workspace.h); exit 0, 2 when refused, 1. */
static int docker_bind_main(int argc, char **argv)
{
	struct bf_error err = { 0 };

	if (argc != 3)
		return 1;
	if (bf_bind_workspace_attach(argv[1], argv[2], &err) < 0) {
		fprintf(stderr, "%s: %s\n", BF_DOCKER_BIND_NAME, err.msg);
		return err.code == EPERM ? 2 : 1;
	}
	return 0;
}

static void unmount_images(const char *run_dir)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/workspace", run_dir);
	umount2(dir, MNT_DETACH);
	snprintf(dir, sizeof(dir), "%s/homefs", run_dir);
	umount2(dir, MNT_DETACH);
	snprintf(dir, sizeof(dir), "%s/workfs", run_dir);
	umount2(dir, MNT_DETACH);
}

/* Binds take no nosuid/nodev here; no_new_privs and the dropped
 * capabilities (no CAP_MKNOD) cover what those would. */
static void add_bind(json_object *binds, const char *src, const char *dst, bool rw)
{
	char spec[PATH_MAX * 2 + 32];

	snprintf(spec, sizeof(spec), "%s:%s:%s", src, dst, rw ? "rw" : "ro");
	json_object_array_add(binds, json_object_new_string(spec));
}

static json_object *str_array(char *const *v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* The body of POST /containers/create. */
static json_object *make_create(const struct bf_bottle *b, const char *run_dir,
				const char *init_path, const struct bf_guest_user *user,
				const char *state_dir)
{
	const struct bf_manifest *m = &b->manifest;
	json_object *c = json_object_new_object(), *host = json_object_new_object();
	json_object *entry = json_object_new_array(), *binds = json_object_new_array();
	json_object *labels = json_object_new_object(), *tmpfs = json_object_new_object();
	json_object *caps = json_object_new_array(), *sec = json_object_new_array();
	char text[PATH_MAX], home[64], tmp_opts[160];
	size_t i;

	json_object_object_add(c, "Image", json_object_new_string(m->image));
	json_object_array_add(entry, json_object_new_string(BF_OCI_INIT_PATH));
	for (i = 0; i < m->seccomp_allow_len; i++) {
		json_object_array_add(entry, json_object_new_string("-s"));
		json_object_array_add(entry, json_object_new_string(m->seccomp_allow[i]));
	}
	json_object_array_add(entry, json_object_new_string("--"));
	for (i = 0; i < m->command_len; i++)
		json_object_array_add(entry, json_object_new_string(m->command[i]));
	json_object_object_add(c, "Entrypoint", entry);
	json_object_object_add(c, "Cmd", json_object_new_array());
	json_object_object_add(c, "Env", str_array(b->env, b->env_len));
	json_object_object_add(c, "WorkingDir", json_object_new_string(m->workdir));
	json_object_object_add(c, "Hostname", json_object_new_string(b->name));
	snprintf(text, sizeof(text), "%llu:%llu", user->id_base + user->uid, user->id_base + user->gid);
	json_object_object_add(c, "User", json_object_new_string(text));
	json_object_object_add(labels, BF_DOCKER_LABEL_NAME, json_object_new_string(b->name));
	json_object_object_add(labels, BF_DOCKER_LABEL_STATE, json_object_new_string(state_dir));
	json_object_object_add(labels, BF_DOCKER_LABEL_IDENTITY, json_object_new_string(b->meta.identity));
	json_object_object_add(c, "Labels", labels);

	json_object_object_add(host, "NetworkMode", json_object_new_string("none"));
	json_object_object_add(host, "ReadonlyRootfs", json_object_new_boolean(1));
	json_object_array_add(sec, json_object_new_string("no-new-privileges"));
	json_object_object_add(host, "SecurityOpt", sec);
	json_object_array_add(caps, json_object_new_string("ALL"));
	json_object_object_add(host, "CapDrop", caps);
	if (user->uid == 0) {
		json_object *add = json_object_new_array();

		for (i = 0; i < bf_guest_root_caps_len; i++)
			json_object_array_add(add, json_object_new_string(bf_guest_root_caps[i].name));
		json_object_object_add(host, "CapAdd", add);
	}
	if (m->pids > 0)
		json_object_object_add(host, "PidsLimit", json_object_new_int64(m->pids));
	if (m->memory > 0) {
		json_object_object_add(host, "Memory", json_object_new_int64(m->memory));
		json_object_object_add(host, "MemorySwap", json_object_new_int64(m->memory));
	}
	if (m->cpus > 0)
		json_object_object_add(host, "NanoCpus", json_object_new_int64(m->cpus * 1000000000LL));
	/* /tmp (and a none-mode /work) hold at most [limits] tmp each; the
	 * engine copies the image's directory mode onto a tmpfs (mode= is
	 * lost on an image whose /tmp is 0755) and adds noexec unless told:
	 * owned by the guest user, executable as on oci. */
	snprintf(tmp_opts, sizeof(tmp_opts), "rw,exec,nosuid,nodev,mode=1777,size=%lld,uid=%llu,gid=%llu",
		 m->tmp, user->id_base + user->uid, user->id_base + user->gid);
	json_object_object_add(tmpfs, "/tmp", json_object_new_string(tmp_opts));
	add_bind(binds, init_path, BF_OCI_INIT_PATH, false);
	/* The engine's resolv.conf would name the host's nameservers; the
	 * guest has no resolver (as on oci): an empty one of ours. */
	snprintf(text, sizeof(text), "%s/resolv.conf", run_dir);
	add_bind(binds, text, "/etc/resolv.conf", false);
	bf_guest_home(m, home, sizeof(home));
	snprintf(text, sizeof(text), "%s/homefs/home", run_dir);
	add_bind(binds, text, home, true);
	if (m->workspace_mode == BF_WORKSPACE_COPY) {
		snprintf(text, sizeof(text), "%s/workfs/work", run_dir);
		add_bind(binds, text, "/work", true);
	} else if (m->workspace_mode == BF_WORKSPACE_BIND) {
		snprintf(text, sizeof(text), "%s/workspace", run_dir);
		add_bind(binds, text, "/work", true);
	} else {
		json_object_object_add(tmpfs, "/work", json_object_new_string(tmp_opts));
	}
	for (i = 0; i < m->mounts_len; i++)
		add_bind(binds, m->mounts[i].source, m->mounts[i].target, m->mounts[i].rw);
	json_object_object_add(host, "Tmpfs", tmpfs);
	json_object_object_add(host, "Binds", binds);
	json_object_object_add(c, "HostConfig", host);
	return c;
}

static int write_empty_resolv_conf(const char *run_dir, struct bf_error *err)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/resolv.conf", run_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return bf_error_set(err, errno, "%s: %s", path, strerror(errno));
	close(fd);
	return 0;
}

/* What proves the guest ours later: its start time and user namespace. */
static int record_guest(struct bf_run *run, struct bf_error *err)
{
	struct bf_proc_ident id;

	if (bf_proc_ident_read(run->pid, &id) < 0)
		return bf_error_set(err, ESRCH, "the container's process %d ended at once", (int)run->pid);
	run->guest_start = id.start;
	run->guest_userns = id.userns;
	return 0;
}

static void start_log(const struct bf_paths *p, struct docker_run *d, long since)
{
	char max[24], from[24];
	struct bf_proc_ident id;
	char *argv[] = { BF_DOCKER_LOG_NAME, (char *)bf_docker_socket(), d->container_id,
			 (char *)p->log, max, from, NULL };

	snprintf(max, sizeof(max), "%lld", p->log_max);
	snprintf(from, sizeof(from), "%ld", since);
	d->log_pid = bf_spawn_exe("/proc/self/exe", argv, -1, -1, -1, -1);
	if (d->log_pid > 0 && bf_proc_ident_read(d->log_pid, &id) == 0)
		d->log_start = id.start;
}

static void remove_container(const char *id)
{
	struct bf_error ignored = { 0 };
	char path[256], enc[160];

	if (!id[0])
		return;
	bf_docker_urlencode(id, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", enc);
	bf_docker_call("DELETE", path, NULL, NULL, &ignored);
}

static int docker_start(const struct bf_bottle *b, const struct bf_paths *p, struct bf_run *run,
			struct bf_error *err)
{
	struct docker_run *d = docker_run(run);
	char init_path[PATH_MAX], state_dir[PATH_MAX], path[1200], enc[200];
	struct bf_docker_state st;
	struct bf_guest_user user;
	json_object *create, *made = NULL, *id;
	cleanup_free char *body = NULL;
	unsigned long long host_uid, host_gid;
	struct engine engine;
	bool userns;
	int r;

	memset(run, 0, sizeof(*run));
	if (bf_oci_find_init(init_path, sizeof(init_path)) < 0)
		return bf_error_set(err, ENOENT, "bottlefs-init is not installed");
	r = engine_info(&engine, err);
	userns = engine.userns;
	strlcpy(d->version, engine.version, sizeof(d->version));
	if (r == 0 && mkdir(p->run_dir, 0700) < 0 && errno != EEXIST)
		r = bf_error_set(err, errno, "mkdir %s: %s", p->run_dir, strerror(errno));
	if (r == 0)
		r = bf_check_mount_sources(&b->manifest, p->run_dir, err);
	if (r == 0)
		r = resolve_user(b, p->run_dir, userns, &user, err);
	if (r == 0 && b->manifest.workspace_mode == BF_WORKSPACE_BIND)
		r = bf_bind_workspace_check(b, &user, err);
	if (r < 0)
		return r;
	/* The guest user's host ids: in the engine's user namespace, its
	 * map's; else the bottle's own range, as the container's User says. */
	host_uid = (userns ? engine.remap_uid : user.id_base) + user.uid;
	host_gid = (userns ? engine.remap_gid : user.id_base) + user.gid;
	r = bf_disk_image_ensure(b, p->run_dir, "home", NULL, (uid_t)host_uid, (gid_t)host_gid, err);
	if (r == 0 && b->manifest.workspace_mode == BF_WORKSPACE_COPY)
		r = bf_disk_image_ensure(b, p->run_dir, "work", b->manifest.workspace_path, (uid_t)host_uid,
					 (gid_t)host_gid, err);
	if (r == 0)
		r = write_empty_resolv_conf(p->run_dir, err);
	mount_image(p->run_dir, "home", err, &r);
	if (b->manifest.workspace_mode == BF_WORKSPACE_COPY)
		mount_image(p->run_dir, "work", err, &r);
	if (b->manifest.workspace_mode == BF_WORKSPACE_BIND)
		attach_bind_workspace(b, p->run_dir, &user, host_uid, host_gid, err, &r);
	if (r < 0) {
		unmount_images(p->run_dir);
		return r;
	}
	/* The state dir the container belongs to: its label. */
	snprintf(state_dir, sizeof(state_dir), "%s", p->runtime_root);
	if (strlen(state_dir) > 8 && strcmp(state_dir + strlen(state_dir) - 8, "/runtime") == 0)
		state_dir[strlen(state_dir) - 8] = '\0';
	snprintf(d->name, sizeof(d->name), "bottlefs-%s", b->meta.identity);
	/* A container of that name left by a start that died half-way. */
	remove_container(d->name);
	create = make_create(b, p->run_dir, init_path, &user, state_dir);
	body = strdup(json_object_to_json_string_ext(create, JSON_C_TO_STRING_PLAIN));
	json_object_put(create);
	if (!body) {
		unmount_images(p->run_dir);
		return bf_error_set(err, ENOMEM, "out of memory");
	}
	bf_docker_urlencode(d->name, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/containers/create?name=%s", enc);
	r = bf_docker_call("POST", path, body, &made, err);
	if (r == 0 && json_object_object_get_ex(made, "Id", &id))
		strlcpy(d->container_id, json_object_get_string(id), sizeof(d->container_id));
	json_object_put(made);
	if (r == 0 && !d->container_id[0])
		r = bf_error_set(err, EIO, "docker engine: create gave no container id");
	if (r == 0) {
		start_log(p, d, 0);
		snprintf(path, sizeof(path), "/containers/%s/start", d->container_id);
		r = bf_docker_call("POST", path, NULL, NULL, err);
	}
	if (r == 0)
		r = bf_docker_inspect(d->container_id, &st, err);
	if (r == 0 && (!st.running || st.pid <= 0))
		r = bf_error_set(err, EIO, "the container ended at once (exit %d): see log", st.exit_code);
	if (r == 0) {
		run->pid = st.pid;
		r = record_guest(run, err);
	}
	if (r < 0) {
		remove_container(d->container_id[0] ? d->container_id : d->name);
		unmount_images(p->run_dir);
		return r;
	}
	run->guest_uid = (uid_t)(user.id_base + user.uid);
	run->guest_gid = (gid_t)(user.id_base + user.gid);
	run->workspace_idmapped = user.ws_idmap;
	run->workspace_uid = user.ws_uid;
	run->workspace_gid = user.ws_gid;
	run->id_offset = userns ? engine.remap_uid : 0;
	run->gid_offset = userns ? engine.remap_gid : 0;
	if (userns) {
		struct bf_idmap_line uids, gids;

		/* The engine's map, as the guest got it (its size for status);
		 * dockremap's usual size if the guest ended already. */
		run->id_count = BF_IDS_PER_BOTTLE;
		if (bf_idmap_read_root(run->pid, "uid_map", &uids) == 0 &&
		    bf_idmap_read_root(run->pid, "gid_map", &gids) == 0) {
			run->id_offset = uids.outside;
			run->gid_offset = gids.outside;
			run->id_count = uids.count < gids.count ? uids.count : gids.count;
		}
	}
	run->started_at = time(NULL);
	return 0;
}

/* The container carries the identity label of the bottle whose name
 * the run records. */
static bool ours(const struct docker_run *d, const struct bf_docker_state *st)
{
	return strncmp(d->name, "bottlefs-", 9) == 0 && strcmp(st->labels_identity, d->name + 9) == 0;
}

static int docker_signal(const struct bf_run *run, int sig, struct bf_error *err)
{
	return bf_guest_process_signal(run, 0, sig, err);
}

/* The guest's process, verified by its start time and namespace (a
 * pidfd pins it), and, when the engine answers, by the container's
 * labels and pid: its pidfd polls readable at its end. */
static int docker_watch(const struct bf_run *run, struct bf_error *err)
{
	const struct docker_run *d = docker_run_const(run);
	struct bf_error engine_err = { 0 };
	struct bf_docker_state st;
	int fd = bf_guest_process_pidfd(run, 0, err);

	if (fd < 0)
		return fd;
	if (bf_docker_inspect(d->container_id, &st, &engine_err) == 0 &&
	    (st.pid != run->pid || !ours(d, &st))) {
		close(fd);
		return bf_error_set(err, ESRCH, "container %.12s is not the one bottlefs started (labels or pid differ)",
				    d->container_id);
	}
	return fd;
}

static int docker_collect(const struct bf_paths *p, struct bf_run *run, struct bf_error *err)
{
	struct docker_run *d = docker_run(run);
	struct bf_docker_state st;
	bool foreign = false;
	int tries;

	run->stopped_at = time(NULL);
	run->exit_code = -1;
	run->exit_signal = 0;
	/* The engine learns of the end a moment after the pidfd does. */
	for (tries = 0; tries < 50; tries++) {
		if (bf_docker_inspect(d->container_id, &st, err) < 0) {
			strlcpy(run->reason, err->msg, sizeof(run->reason));
			break;
		}
		/* A record naming a container of another bottle (or none of
		 * ours) reads no status from it and does not remove it. */
		if (!ours(d, &st)) {
			snprintf(run->reason, sizeof(run->reason),
				 "container %.12s is not this bottle's (its labels differ): left alone",
				 d->container_id);
			foreign = true;
			break;
		}
		if (!st.running) {
			/* bottlefs-init's own status, as on oci: 128+SIG for a
			 * command a signal ended, as a shell reports it. */
			run->exit_code = st.exit_code;
			break;
		}
		usleep(20000);
	}
	/* The follower ends with the container's output: reap it if it is
	 * our child (a follower of an earlier daemon is init's). */
	for (tries = 0; d->log_pid > 0 && tries < 50; tries++) {
		pid_t w = waitpid(d->log_pid, NULL, WNOHANG);

		if (w != 0)
			break;
		usleep(20000);
	}
	if (!foreign)
		remove_container(d->container_id);
	unmount_images(p->run_dir);
	return 0;
}

static int docker_kill_strays(const struct bf_run *run)
{
	return bf_guest_process_kill_strays(run, 0);
}

static int docker_workspace_view(const struct bf_run *run, const struct bf_paths *p, int *out,
				 struct bf_error *err)
{
	char path[PATH_MAX + 64];
	int fd;

	if (!run) {
		snprintf(path, sizeof(path), "%s/work.img", p->run_dir);
		return bf_image_view_open(path, "work", out, err);
	}
	/* Running: the copy is mounted in the host's namespace. */
	snprintf(path, sizeof(path), "%s/workfs/work", p->run_dir);
	fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bf_error_set(err, errno, "the running copy: %s", strerror(errno));
	*out = fd;
	return 0;
}

static int docker_destroy(const struct bf_bottle *b, const struct bf_paths *p, struct bf_error *err)
{
	char name[128];

	snprintf(name, sizeof(name), "bottlefs-%s", b->meta.identity);
	remove_container(name);
	unmount_images(p->run_dir);
	return bf_remove_tree(p->run_dir, err);
}

/* The engine's containers and volumes labelled for this state dir whose
 * bottle is gone. An engine that does not answer lists nothing. */
static int docker_orphans(const char *state_dir, char *const *known, size_t n_known,
			  void (*emit)(void *ctx, const char *type, const char *id, const char *what),
			  void *ctx, struct bf_error *err)
{
	char filter[2400], enc[3 * 2400], path[8000], what[600];

	snprintf(filter, sizeof(filter), "{\"label\":[\"%s=%s\"]}", BF_DOCKER_LABEL_STATE, state_dir);
	bf_docker_urlencode(filter, enc, sizeof(enc));
	for (size_t k = 0; k < 2; k++) {
		json_object *list = NULL, *items;
		int r;

		snprintf(path, sizeof(path), k == 0 ? "/containers/json?all=1&filters=%s" : "/volumes?filters=%s",
			 enc);
		r = bf_docker_call("GET", path, NULL, &list, err);
		if (r < 0)
			return r;
		items = list;
		if (k == 1 && !json_object_object_get_ex(list, "Volumes", &items))
			items = NULL;
		for (size_t i = 0; items && json_object_is_type(items, json_type_array) &&
				   i < json_object_array_length(items); i++) {
			json_object *c = json_object_array_get_idx(items, i), *labels, *v;
			const char *identity = NULL, *id = NULL;
			bool mine = false;

			if (json_object_object_get_ex(c, "Labels", &labels) &&
			    json_object_object_get_ex(labels, BF_DOCKER_LABEL_IDENTITY, &v))
				identity = json_object_get_string(v);
			if (json_object_object_get_ex(c, k == 0 ? "Id" : "Name", &v))
				id = json_object_get_string(v);
			for (size_t j = 0; identity && j < n_known && !mine; j++)
				mine = strcmp(identity, known[j]) == 0;
			if (mine || !id)
				continue;
			snprintf(what, sizeof(what), "a docker %s labelled for %s whose bottle (%s) is gone: removed%s",
				 k == 0 ? "container" : "volume", state_dir, identity ? identity : "?",
				 k == 0 ? " with its anonymous volumes" : "");
			emit(ctx, k == 0 ? "docker-container" : "docker-volume", id, what);
		}
		json_object_put(list);
	}
	return 0;
}

static int docker_remove_orphan(const char *state_dir, const char *type, const char *id,
				struct bf_error *err)
{
	char enc[600], path[700];

	(void)state_dir;
	bf_docker_urlencode(id, enc, sizeof(enc));
	if (strcmp(type, "docker-container") == 0)
		snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", enc);
	else if (strcmp(type, "docker-volume") == 0)
		snprintf(path, sizeof(path), "/volumes/%s?force=1", enc);
	else
		return bf_error_set(err, EINVAL, "not a docker orphan: %s %s", type, id);
	return bf_docker_call("DELETE", path, NULL, NULL, err);
}

static const struct bf_helper_entry docker_helpers[] = {
	{ BF_DOCKER_LOG_NAME, bf_docker_log_main },
	{ BF_DOCKER_BIND_NAME, docker_bind_main },
	{ NULL, NULL },
};

const struct bf_backend bf_backend_docker = {
	.name = "docker",
	.helpers = docker_helpers,
	.preflight = docker_preflight,
	.check_manifest = docker_check_manifest,
	.guest_sidecar_host = docker_guest_sidecar_host,
	.run_save = bf_docker_run_save,
	.run_load = bf_docker_run_load,
	.run_render = bf_docker_run_render,
	.run_describe = bf_docker_run_describe,
	.start = docker_start,
	.signal = docker_signal,
	.watch = docker_watch,
	.collect = docker_collect,
	.sidecar_listen = bf_guest_process_sidecar_listen,
	.kill_strays = docker_kill_strays,
	.exec = bf_guest_process_exec,
	.workspace_view = docker_workspace_view,
	.orphans = docker_orphans,
	.remove_orphan = docker_remove_orphan,
	.destroy = docker_destroy,
};
