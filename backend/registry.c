#include "registry.h"

#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "cleanup.h"
#include "copy_tree.h"
#include "idmap.h"
#include "log_pump.h"
#include "registry_internal.h"
#include "spool_files.h"
#include "git/git_gate.h"


void bf_registry_report(struct bf_registry *reg, const char *who, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bf_errors_log_add(&reg->errors, who ? who : "-", "%s", msg);
}

/* bottles[] is sorted by name: the first index whose name is not below
 * `name` (where it is, or would go). */
static size_t lower_bound_locked(const struct bf_registry *reg, const char *name)
{
	size_t lo = 0, hi = reg->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(reg->bottles[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A bottle being removed is found only by name_taken_locked. */
static struct bf_bottle *find_any_locked(struct bf_registry *reg, const char *name, size_t *index)
{
	size_t i = lower_bound_locked(reg, name);

	if (i == reg->count || strcmp(reg->bottles[i]->name, name) != 0)
		return NULL;
	if (index)
		*index = i;
	return reg->bottles[i];
}

static struct bf_bottle *find_locked(struct bf_registry *reg, const char *name, size_t *index)
{
	struct bf_bottle *b = find_any_locked(reg, name, index);

	return b && !b->removing ? b : NULL;
}

static bool name_taken_locked(struct bf_registry *reg, const char *name)
{
	return find_any_locked(reg, name, NULL) != NULL;
}

/* The lowest slot of the mount's id range that overlaps no other
 * bottle's ids: two bottles never share a host id, live or not, since a
 * stopped bottle's files (copy workspace) keep its ids. One pass marks
 * the slots the others' ranges touch (a range off the slot grid, from
 * another idbase=, touches two). */
static int pick_id_base_locked(struct bf_registry *reg, const char *except,
			       unsigned long long *out)
{
	const unsigned long long first = reg->cfg.id_base;
	const unsigned long long end = first + (unsigned long long)reg->cfg.id_slots * BF_IDS_PER_BOTTLE;
	cleanup_free unsigned char *taken = calloc(reg->cfg.id_slots, 1);
	unsigned slot;
	size_t i;

	if (!taken)
		return -ENOMEM;
	for (i = 0; i < reg->count; i++) {
		unsigned long long other = reg->bottles[i]->meta.id_base, last;

		if (!other || (except && strcmp(reg->bottles[i]->name, except) == 0))
			continue;
		last = other + BF_IDS_PER_BOTTLE - 1;
		if (last < first || other >= end)
			continue;
		if (other >= first)
			taken[(other - first) / BF_IDS_PER_BOTTLE] = 1;
		if (last < end)
			taken[(last - first) / BF_IDS_PER_BOTTLE] = 1;
	}
	for (slot = 0; slot < reg->cfg.id_slots; slot++) {
		if (!taken[slot]) {
			*out = first + (unsigned long long)slot * BF_IDS_PER_BOTTLE;
			return 0;
		}
	}
	return -ENOSPC;
}

struct bf_bottle *bf_registry_find_locked(struct bf_registry *reg, const char *name)
{
	return find_locked(reg, name, NULL);
}

void bf_registry_paths(const struct bf_registry *reg, const char *name, struct bf_paths *p)
{
	/* p is only written here; cppcheck takes the snprintf target for a read. */
	// cppcheck-suppress ctuuninitvar
	snprintf(p->run_dir, sizeof(p->run_dir), "%s/run/%s", reg->cfg.state_dir, name);
	snprintf(p->runtime_root, sizeof(p->runtime_root), "%s/runtime", reg->cfg.state_dir);
	snprintf(p->log, sizeof(p->log), "%s/run/%s/log", reg->cfg.state_dir, name);
	snprintf(p->egress, sizeof(p->egress), "%s/run/%s/egress", reg->cfg.state_dir, name);
	snprintf(p->git_dir, sizeof(p->git_dir), "%s/git/%s", reg->cfg.state_dir, name);
	p->log_max = reg->cfg.log_max > 0 ? reg->cfg.log_max : BF_LOG_MAX;
	strlcpy(p->vm_kernel, reg->cfg.vm_kernel, sizeof(p->vm_kernel));
}

void bf_registry_changed_locked(struct bf_registry *reg, const char *name)
{
	if (reg->change_hook)
		reg->change_hook(reg->change_ctx, name);
}

void bf_registry_set_change_hook(struct bf_registry *reg, bf_change_hook hook, void *ctx)
{
	pthread_mutex_lock(&reg->lock);
	reg->change_hook = hook;
	reg->change_ctx = ctx;
	pthread_mutex_unlock(&reg->lock);
}

void bf_registry_save_locked(struct bf_registry *reg, struct bf_bottle *b)
{
	char *record = bf_store_record_text(b->name, b->manifest_text, b->manifest_len, &b->meta);

	bf_registry_changed_locked(reg, b->name);
	if (!record) {
		bf_registry_report(reg, b->name, "state: out of memory: the record is not saved");
		return;
	}
	free(b->save_pending);
	b->save_pending = record;
}

pthread_mutex_t *bf_registry_save_lock(struct bf_registry *reg, const char *name)
{
	unsigned h = 5381;

	while (*name)
		h = h * 33 + (unsigned char)*name++;
	return &reg->save_locks[h % BF_SAVE_STRIPES];
}

void bf_registry_flush_save(struct bf_registry *reg, const char *name)
{
	pthread_mutex_t *stripe = bf_registry_save_lock(reg, name);
	struct bf_error err = { 0 };
	struct bf_bottle *b;
	char *record = NULL;

	/* Taken under the stripe: a record taken here is newer than any
	 * written before, and none is written after it but a newer one. */
	pthread_mutex_lock(stripe);
	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	if (b) {
		record = b->save_pending;
		b->save_pending = NULL;
	}
	pthread_mutex_unlock(&reg->lock);
	if (record && bf_store_write_record(&reg->store, name, record, &err) < 0)
		bf_registry_report(reg, name, "%s", err.msg);
	pthread_mutex_unlock(stripe);
	free(record);
}

void bf_registry_flush_all_saves(struct bf_registry *reg)
{
	char **names = NULL;

	/* A bottle with nothing waiting, or being removed, is passed over
	 * by the flush itself. */
	if (bf_registry_names(reg, &names) < 0)
		return;
	for (size_t i = 0; names[i]; i++)
		bf_registry_flush_save(reg, names[i]);
	bf_strv_free(names);
}

void bf_registry_log_event(struct bf_registry *reg, const char *name, const char *fmt, ...)
{
	struct bf_paths p;
	char stamp[32], msg[1024];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	FILE *f;

	bf_registry_paths(reg, name, &p);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	mkdir(p.run_dir, 0700);
	f = fopen(p.log, "ae");
	if (!f)
		return;
	fprintf(f, "%s bottlefs: %s\n", stamp, msg);
	fclose(f);
}

int bf_registry_file_path(struct bf_registry *reg, const char *name, enum bf_file file,
			  char *out, size_t len)
{
	struct bf_paths p;

	if (file == BF_FILE_REQUESTS_LOG) {
		bf_registry_requests_log_path(reg, out, len);
		return 0;
	}
	if (!bf_registry_exists(reg, name))
		return -ENOENT;
	bf_registry_paths(reg, name, &p);
	switch (file) {
	case BF_FILE_EGRESS:
		return strlcpy(out, p.egress, len) >= len ? -ENAMETOOLONG : 0;
	case BF_FILE_GIT_LOG:
	case BF_FILE_GIT_REFS:
		if (!bf_registry_has_git(reg, name))
			return -ENOENT;
		return snprintf(out, len, "%s/%s", p.git_dir, file == BF_FILE_GIT_LOG ? "log" : "refs") >=
				       (int)len
			       ? -ENAMETOOLONG
			       : 0;
	default:
		return strlcpy(out, p.log, len) >= len ? -ENAMETOOLONG : 0;
	}
}

bool bf_registry_has_git(struct bf_registry *reg, const char *name)
{
	struct bf_bottle *b;
	bool has;

	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	has = b && b->manifest.git_gate;
	pthread_mutex_unlock(&reg->lock);
	return has;
}

int bf_registry_git_view(struct bf_registry *reg, const char *name, int *fd, struct bf_error *err)
{
	struct bf_paths p;
	char path[sizeof(p.git_dir) + 16];

	if (!bf_registry_has_git(reg, name))
		return bf_error_set(err, ENOENT, "no git-gate");
	bf_registry_paths(reg, name, &p);
	snprintf(path, sizeof(path), "%s/mirror.git", p.git_dir);
	*fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return *fd < 0 ? bf_error_set(err, errno, "%s: %s", path, strerror(errno)) : 0;
}

/* Puts `b` in its place by name (its name is not in bottles[]). The
 * array grows by half, so that 10 000 creations do not copy it 10 000
 * times. */
static int insert_locked(struct bf_registry *reg, struct bf_bottle *b)
{
	size_t at = lower_bound_locked(reg, b->name);

	if (reg->count == reg->capacity) {
		size_t cap = reg->capacity < 16 ? 16 : reg->capacity + reg->capacity / 2;
		struct bf_bottle **v = reallocarray(reg->bottles, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		reg->bottles = v;
		reg->capacity = cap;
	}
	memmove(&reg->bottles[at + 1], &reg->bottles[at], (reg->count - at) * sizeof(*reg->bottles));
	reg->bottles[at] = b;
	reg->count++;
	return 0;
}

/* Formats a manifest failure for `errors`: bottle, line, reason. */
static void report_manifest_error(struct bf_registry *reg, const char *name, const char *what,
				  int line, const struct bf_error *err)
{
	if (line > 0)
		bf_registry_report(reg, name, "%s line %d: %s", what, line, err->msg);
	else
		bf_registry_report(reg, name, "%s: %s", what, err->msg);
}

/* The workspace must exist and be readable by whoever wrote the manifest,
 * so a manifest cannot smuggle in a path its writer could not read: the
 * kernel decides, with the writer's uid, gid and groups. */
static int check_workspace(const struct bf_manifest *m, const struct bf_caller *who,
			   struct bf_error *err)
{
	struct stat st;
	int r;

	/* Tool mounts: the writer must be able to read what it brings in. */
	for (size_t i = 0; i < m->mounts_len; i++) {
		const char *src = m->mounts[i].source;

		if (stat(src, &st) < 0)
			return bf_error_set(err, errno == ENOENT ? EINVAL : errno, "[[mount]] source %s: %s",
					    src, strerror(errno));
		r = bf_access_as(who, src, S_ISDIR(st.st_mode) ? R_OK | X_OK : R_OK);
		if (r < 0)
			return bf_error_set(err, EACCES, "[[mount]] source %s is not readable by uid %u: %s",
					    src, (unsigned)who->uid, strerror(-r));
	}
	/* A guest kernel likewise (its files are read as the writer again
	 * when the VM's image is made). */
	if (m->kernel) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/vmlinuz", m->kernel);
		r = bf_access_as(who, path, R_OK);
		if (r < 0)
			return bf_error_set(err, r == -EACCES ? EACCES : EINVAL,
					    "kernel %s: %s is not readable by uid %u: %s", m->kernel, path,
					    (unsigned)who->uid, strerror(-r));
	}
	/* The git-gate's repository: it is read as the writer at every
	 * refresh too (git_mirror.c). */
	if (m->git_repo) {
		if (stat(m->git_repo, &st) < 0)
			return bf_error_set(err, errno == ENOENT ? EINVAL : errno, "[git] repo %s: %s",
					    m->git_repo, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return bf_error_set(err, EINVAL, "[git] repo %s is not a directory", m->git_repo);
		r = bf_access_as(who, m->git_repo, R_OK | X_OK);
		if (r < 0)
			return bf_error_set(err, EACCES, "[git] repo %s is not readable by uid %u: %s",
					    m->git_repo, (unsigned)who->uid, strerror(-r));
	}
	if (m->workspace_mode == BF_WORKSPACE_NONE)
		return 0;
	if (stat(m->workspace_path, &st) < 0)
		return bf_error_set(err, errno == ENOENT ? EINVAL : errno,
				    "workspace path %s: %s", m->workspace_path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return bf_error_set(err, EINVAL, "workspace path %s is not a directory", m->workspace_path);
	r = bf_access_as(who, m->workspace_path, R_OK | X_OK);
	if (r < 0)
		return bf_error_set(err, EACCES, "workspace path %s is not readable by uid %u: %s",
				    m->workspace_path, (unsigned)who->uid, strerror(-r));
	return 0;
}

static void new_identity(const char *name, char *out, size_t len)
{
	uint32_t r = arc4random();

	snprintf(out, len, "%s-%08x", name, r);
}

static void apply_mount_defaults(const struct bf_registry *reg, struct bf_bottle *b)
{
	if (b->manifest.stop_timeout < 0)
		b->stop_timeout = reg->cfg.stop_timeout;
}

static int build_checked(struct bf_registry *reg, const char *name, const char *text,
			 size_t len, const struct bf_meta *meta, const struct bf_caller *who,
			 struct bf_bottle *out, const char *what, struct bf_error *err)
{
	int line = 0, r;

	r = bf_bottle_build(name, text, len, meta, out, err, &line);
	if (r == 0) {
		apply_mount_defaults(reg, out);
		r = check_workspace(&out->manifest, who, err);
		if (r < 0)
			bf_bottle_free(out);
	}
	if (r < 0)
		report_manifest_error(reg, name, what, line, err);
	return r;
}

int bf_registry_create(struct bf_registry *reg, const char *name, const char *text,
		       size_t len, const struct bf_caller *who, struct bf_error *err)
{
	struct bf_bottle *b;
	struct bf_meta meta = { 0 };
	char what[BF_NAME_MAX + 8];
	int r;

	snprintf(what, sizeof(what), "new/%s", name);
	if (!bf_name_valid(name)) {
		r = bf_error_set(err, EINVAL,
				 "bad bottle name \"%s\": use 1-63 of [a-z0-9_.-], starting with a letter or digit",
				 name);
		report_manifest_error(reg, "-", what, 0, err);
		return r;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return bf_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_lock(&reg->lock);
	if (name_taken_locked(reg, name)) {
		r = bf_error_set(err, EEXIST, "a bottle named \"%s\" already exists", name);
		report_manifest_error(reg, name, what, 0, err);
		goto out;
	}
	/* No backend puts the subnet on a network another bottle shares (oci
	 * and docker guests have no interface, a VM has user networking of
	 * its own): the name's own, shared or not. */
	meta.octet = bf_subnet_preferred_octet(name);
	if (pick_id_base_locked(reg, NULL, &meta.id_base) < 0) {
		r = bf_error_set(err, ENOSPC, "no free guest id range left (%u bottles of %u ids from %llu)",
				 reg->cfg.id_slots, BF_IDS_PER_BOTTLE, reg->cfg.id_base);
		report_manifest_error(reg, name, what, 0, err);
		goto out;
	}
	new_identity(name, meta.identity, sizeof(meta.identity));
	strlcpy(meta.backend, reg->cfg.backend, sizeof(meta.backend));
	meta.state = BF_STATE_PLANNED;
	meta.owner = who->uid;
	meta.created_at = time(NULL);
	r = build_checked(reg, name, text, len, &meta, who, b, what, err);
	if (r < 0)
		goto out;
	r = bf_store_save(&reg->store, name, b->manifest_text, b->manifest_len, &b->meta, err);
	if (r == 0 && (r = insert_locked(reg, b)) < 0) {
		bf_store_remove(&reg->store, name, NULL);
		bf_error_set(err, ENOMEM, "out of memory");
	}
	if (r < 0) {
		report_manifest_error(reg, name, what, 0, err);
		bf_bottle_free(b);
		goto out;
	}
	bf_registry_changed_locked(reg, name);
	b = NULL;
out:
	pthread_mutex_unlock(&reg->lock);
	free(b);
	return r;
}

static bool busy(enum bf_state s)
{
	return s == BF_STATE_STARTING || s == BF_STATE_RUNNING || s == BF_STATE_STOPPING;
}

int bf_registry_update(struct bf_registry *reg, const char *name, const char *text,
		       size_t len, const struct bf_caller *who, struct bf_error *err)
{
	pthread_mutex_t *stripe = bf_registry_save_lock(reg, name);
	struct bf_bottle *old, fresh;
	char what[BF_NAME_MAX + 16];
	int r;

	snprintf(what, sizeof(what), "%s/manifest", name);
	/* The record is written here, under the lock (a bad write keeps the
	 * old manifest); the stripe keeps a flush of an older one out. */
	pthread_mutex_lock(stripe);
	pthread_mutex_lock(&reg->lock);
	old = find_locked(reg, name, NULL);
	if (!old) {
		r = bf_error_set(err, ENOENT, "no bottle named \"%s\"", name);
		goto out;
	}
	if (busy(old->meta.state)) {
		r = bf_error_set(err, EBUSY, "bottle is %s: stop it before changing its manifest",
				 bf_state_name(old->meta.state));
		report_manifest_error(reg, name, what, 0, err);
		goto out;
	}
	r = build_checked(reg, name, text, len, &old->meta, who, &fresh, what, err);
	if (r < 0)
		goto out;
	r = bf_store_save(&reg->store, name, fresh.manifest_text, fresh.manifest_len, &fresh.meta, err);
	if (r < 0) {
		report_manifest_error(reg, name, what, 0, err);
		bf_bottle_free(&fresh);
		goto out;
	}
	/* A new manifest is a new starting point for the allowlist too. */
	bf_registry_allow_reset_locked(reg, old);
	bf_bottle_free(old);
	*old = fresh;
	bf_registry_changed_locked(reg, name);
out:
	pthread_mutex_unlock(&reg->lock);
	pthread_mutex_unlock(stripe);
	return r;
}

int bf_registry_remove(struct bf_registry *reg, const char *name, struct bf_error *err)
{
	struct bf_exec_session **sessions;
	struct bf_paths paths;
	struct bf_bottle *b;
	size_t i, n_sessions;
	int r;

	pthread_mutex_lock(&reg->lock);
	b = find_locked(reg, name, NULL);
	if (!b) {
		pthread_mutex_unlock(&reg->lock);
		return bf_error_set(err, ENOENT, "no bottle named \"%s\"", name);
	}
	if (busy(b->meta.state)) {
		r = bf_error_set(err, EBUSY, "bottle is %s: stop it first", bf_state_name(b->meta.state));
		bf_registry_report(reg, name, "rmdir: %s", err->msg);
		pthread_mutex_unlock(&reg->lock);
		return r;
	}
	/* From here the bottle is nobody else's: not found, not started,
	 * not rewritten, its name not given again. */
	b->removing = true;
	bf_registry_exec_take_all_locked(b, &sessions, &n_sessions);
	bf_registry_workspace_view_drop_locked(b);
	bf_registry_paths(reg, name, &paths);
	pthread_mutex_unlock(&reg->lock);

	/* Outside the lock: killing sessions waits, the runtime is a process
	 * run, and removing the storage is I/O. */
	bf_registry_exec_kill_all(sessions, n_sessions);
	if (b->backend->destroy)
		r = b->backend->destroy(b, &paths, err);
	else
		r = bf_remove_tree(paths.run_dir, err);

	if (r == 0)
		r = bf_git_gate_remove(paths.git_dir, err);
	/* Under its stripe: a flush that took a record before the bottle
	 * was hidden finishes first, so nothing writes it back after. */
	if (r == 0) {
		pthread_mutex_t *stripe = bf_registry_save_lock(reg, name);

		pthread_mutex_lock(stripe);
		r = bf_store_remove(&reg->store, name, err);
		pthread_mutex_unlock(stripe);
	}
	pthread_mutex_lock(&reg->lock);
	if (r == 0)
		bf_registry_allow_reset_locked(reg, b);
	if (r < 0) {
		b->removing = false;
		bf_registry_report(reg, name, "rmdir: %s", err->msg);
		pthread_mutex_unlock(&reg->lock);
		return r;
	}
	find_any_locked(reg, name, &i);
	memmove(&reg->bottles[i], &reg->bottles[i + 1], (reg->count - i - 1) * sizeof(*reg->bottles));
	reg->count--;
	bf_registry_changed_locked(reg, name);
	pthread_mutex_unlock(&reg->lock);
	bf_bottle_free(b);
	free(b);
	return 0;
}

bool bf_registry_exists(struct bf_registry *reg, const char *name)
{
	bool found;

	pthread_mutex_lock(&reg->lock);
	found = find_locked(reg, name, NULL) != NULL;
	pthread_mutex_unlock(&reg->lock);
	return found;
}

void bf_strv_free(char **v)
{
	char **p;

	for (p = v; p && *p; p++)
		free(*p);
	free(v);
}

int bf_registry_names(struct bf_registry *reg, char ***names)
{
	char **v;
	size_t i;

	pthread_mutex_lock(&reg->lock);
	v = calloc(reg->count + 1, sizeof(*v));
	for (i = 0; v && i < reg->count; i++) {
		v[i] = strdup(reg->bottles[i]->name);
		if (!v[i]) {
			bf_strv_free(v);
			v = NULL;
		}
	}
	pthread_mutex_unlock(&reg->lock);
	if (!v)
		return -ENOMEM;
	*names = v;
	return 0;
}

int bf_registry_render(struct bf_registry *reg, const char *name, enum bf_file file,
		       struct bf_buf *out)
{
	struct bf_bottle *b;
	int r;

	pthread_mutex_lock(&reg->lock);
	b = find_locked(reg, name, NULL);
	if (!b) {
		pthread_mutex_unlock(&reg->lock);
		return -ENOENT;
	}
	switch (file) {
	case BF_FILE_MANIFEST:
		bf_buf_append(out, b->manifest_text, b->manifest_len);
		r = bf_buf_finish(out);
		break;
	case BF_FILE_PLAN: r = bf_render_plan(b, out); break;
	case BF_FILE_ENV: r = bf_render_env(b, out); break;
	case BF_FILE_NETWORK: r = bf_render_network(b, out); break;
	case BF_FILE_STATUS: r = bf_render_status(b, out); break;
	case BF_FILE_ALLOW: r = bf_registry_render_allow_locked(b, out); break;
	case BF_FILE_CTL:
		bf_buf_printf(out, "%s\n", bf_state_name(b->meta.state));
		r = bf_buf_finish(out);
		break;
	default: r = -ENOENT;
	}
	pthread_mutex_unlock(&reg->lock);
	return r;
}

int bf_registry_render_errors(struct bf_registry *reg, struct bf_buf *out)
{
	return bf_errors_log_render(&reg->errors, out);
}

/* Preflight runs at read time: a daemon started after the mount shows up. */
int bf_registry_render_backends(struct bf_registry *reg, struct bf_buf *out)
{
	const struct bf_backend *const *all = bf_backend_all();
	size_t i;

	for (i = 0; all[i]; i++) {
		struct bf_error err = { 0 };
		const char *dflt = strcmp(all[i]->name, reg->cfg.backend) == 0 ? " (default)" : "";

		char about[256] = "";

		if (all[i]->preflight(about, sizeof(about), &err) == 0) {
			bf_buf_printf(out, "%s: available%s%s%s\n", all[i]->name, dflt, about[0] ? ": " : "",
				      about);
		} else {
			bf_buf_printf(out, "%s: unavailable%s: %s\n", all[i]->name, dflt, err.msg);
		}
	}
	return bf_buf_finish(out);
}

struct load_ctx {
	struct bf_registry *reg;
};

static void load_problem(void *ctx, const char *file, const char *reason)
{
	struct load_ctx *lc = ctx;

	bf_registry_report(lc->reg, NULL, "state: %s: %s (skipped)", file, reason);
}

static int load_record(void *ctx, const char *name, const char *text, size_t len,
		       const struct bf_meta *meta)
{
	struct load_ctx *lc = ctx;
	struct bf_registry *reg = lc->reg;
	struct bf_bottle *b = calloc(1, sizeof(*b));
	struct bf_error err = { 0 };
	int line = 0;

	if (!b)
		return -ENOMEM;
	if (bf_bottle_build(name, text, len, meta, b, &err, &line) < 0) {
		bf_registry_report(reg, name, "state: %s.json: manifest line %d no longer valid: %s (skipped)",
				   name, line, err.msg);
		free(b);
		return 0;
	}
	apply_mount_defaults(reg, b);
	bf_registry_allow_load_locked(reg, b);
	if (find_any_locked(reg, name, NULL) || insert_locked(reg, b) < 0) {
		bf_bottle_free(b);
		free(b);
		return -ENOMEM;
	}
	return 0;
}

/* Records from before user namespaces have no id range, and two records
 * sharing one can only come from a damaged state dir: give a fresh range
 * (to bottles not running: a running guest keeps the ids it has). */
static int cmp_id_base(const void *a, const void *b)
{
	unsigned long long x = (*(struct bf_bottle *const *)a)->meta.id_base;
	unsigned long long y = (*(struct bf_bottle *const *)b)->meta.id_base;

	return x < y ? -1 : x > y;
}

static void fix_id_ranges(struct bf_registry *reg)
{
	cleanup_free struct bf_bottle **by_base = NULL;
	unsigned long long kept_end = 0;
	size_t i, n_moving = 0;

	if (!reg->count)
		return;
	by_base = reallocarray(NULL, reg->count, sizeof(*by_base));
	if (!by_base) {
		bf_registry_report(reg, NULL, "state: out of memory checking id ranges");
		return;
	}
	/* In order of id_base: a range that starts before the end of the
	 * last one kept overlaps it. Those (and records without one) get a
	 * fresh range afterwards; by_base's front holds them meanwhile. */
	memcpy(by_base, reg->bottles, reg->count * sizeof(*by_base));
	qsort(by_base, reg->count, sizeof(*by_base), cmp_id_base);
	for (i = 0; i < reg->count; i++) {
		struct bf_bottle *b = by_base[i];

		if ((!b->meta.id_base || b->meta.id_base < kept_end) && !busy(b->meta.state)) {
			by_base[n_moving++] = b;
			continue;
		}
		if (b->meta.id_base + BF_IDS_PER_BOTTLE > kept_end)
			kept_end = b->meta.id_base + BF_IDS_PER_BOTTLE;
	}
	for (i = 0; i < n_moving; i++) {
		struct bf_bottle *b = by_base[i];

		b->meta.id_base = 0;
		if (pick_id_base_locked(reg, b->name, &b->meta.id_base) < 0) {
			bf_registry_report(reg, b->name, "state: no free guest id range left");
			continue;
		}
		bf_registry_report(reg, b->name, "state: guest id range missing or shared, moved to %llu",
				   b->meta.id_base);
		bf_store_save(&reg->store, b->name, b->manifest_text, b->manifest_len, &b->meta, NULL);
	}
}

int bf_registry_open(const struct bf_config *cfg, struct bf_registry **out,
		     struct bf_error *err)
{
	struct bf_registry *reg = calloc(1, sizeof(*reg));
	struct load_ctx lc = { reg };
	int r;

	if (!reg)
		return bf_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&reg->lock, NULL);
	for (size_t s = 0; s < BF_SAVE_STRIPES; s++)
		pthread_mutex_init(&reg->save_locks[s], NULL);
	pthread_cond_init(&reg->changed, NULL);
	bf_errors_log_init(&reg->errors);
	reg->shutdown_fd = eventfd(0, EFD_CLOEXEC);
	if (reg->shutdown_fd < 0) {
		r = bf_error_set(err, errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	reg->cfg = *cfg;
	reg->store.dirfd = -1;
	if (!bf_backend_find(cfg->backend)) {
		r = bf_error_set(err, EINVAL, "unknown backend \"%s\" (known: %s)", cfg->backend,
				 bf_backend_names());
		goto fail;
	}
	if (!reg->cfg.id_slots) {
		reg->cfg.id_base = BF_ID_BASE_DEFAULT;
		reg->cfg.id_slots = (BF_ID_RANGE_END - BF_ID_BASE_DEFAULT) / BF_IDS_PER_BOTTLE;
	}
	if (!bf_idrange_free_of_accounts("/etc/passwd", reg->cfg.id_base,
					 (unsigned long long)reg->cfg.id_slots * BF_IDS_PER_BOTTLE)) {
		r = bf_error_set(err, EINVAL, "the guests' id range %llu-%llu holds a host account (/etc/passwd): move it with -o idbase=",
				 reg->cfg.id_base,
				 reg->cfg.id_base + (unsigned long long)reg->cfg.id_slots * BF_IDS_PER_BOTTLE - 1);
		goto fail;
	}
	r = bf_store_open(cfg->state_dir, &reg->store, err);
	if (r < 0)
		goto fail;
	{
		char run_dir[sizeof(cfg->state_dir) + 8];

		snprintf(run_dir, sizeof(run_dir), "%s/run", cfg->state_dir);
		/* Searchable, not readable: the runtime enters a bottle's
		 * rootfs as the guest's mapped root (see bf_oci_prepare). */
		if ((mkdir(run_dir, 0711) < 0 && errno != EEXIST) || chmod(run_dir, 0711) < 0 ||
		    chmod(cfg->state_dir, 0711) < 0) {
			r = bf_error_set(err, errno, "cannot create %s: %s", run_dir, strerror(errno));
			goto fail;
		}
		/* git-gate's mirrors: each is its bottle id's alone (0700). */
		snprintf(run_dir, sizeof(run_dir), "%s/git", cfg->state_dir);
		if ((mkdir(run_dir, 0711) < 0 && errno != EEXIST) || chmod(run_dir, 0711) < 0) {
			r = bf_error_set(err, errno, "cannot create %s: %s", run_dir, strerror(errno));
			goto fail;
		}
	}
	r = bf_store_load(&reg->store, load_record, load_problem, &lc, err);
	if (r < 0)
		goto fail;
	fix_id_ranges(reg);
	*out = reg;
	return 0;
fail:
	bf_registry_close(reg);
	return r;
}

void bf_registry_start(struct bf_registry *reg)
{
	bf_lifecycle_reattach(reg);
}

void bf_registry_close(struct bf_registry *reg)
{
	size_t i;

	if (!reg)
		return;
	bf_lifecycle_shutdown(reg);
	bf_registry_flush_all_saves(reg);
	for (i = 0; i < reg->count; i++) {
		struct bf_exec_session **sessions;
		size_t n;

		/* No other thread is left: the FUSE loop has ended. */
		bf_registry_exec_take_all_locked(reg->bottles[i], &sessions, &n);
		bf_registry_exec_kill_all(sessions, n);
		bf_registry_egress_stop_locked(reg->bottles[i]);
		bf_bottle_free(reg->bottles[i]);
		free(reg->bottles[i]);
	}
	free(reg->bottles);
	bf_spool_files_drop();
	bf_store_close(&reg->store);
	bf_errors_log_destroy(&reg->errors);
	if (reg->shutdown_fd >= 0)
		close(reg->shutdown_fd);
	pthread_cond_destroy(&reg->changed);
	pthread_mutex_destroy(&reg->lock);
	for (i = 0; i < BF_SAVE_STRIPES; i++)
		pthread_mutex_destroy(&reg->save_locks[i]);
	free(reg);
}
