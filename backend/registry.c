#include "registry.h"

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

#include "copy_tree.h"
#include "idmap.h"
#include "log_pump.h"
#include "registry_internal.h"


void bf_registry_report(struct bf_registry *reg, const char *who, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bf_errors_log_add(&reg->errors, who ? who : "-", "%s", msg);
}

/* A bottle being removed is found only by name_taken_locked. */
static struct bf_bottle *find_any_locked(struct bf_registry *reg, const char *name, size_t *index)
{
	size_t i;

	for (i = 0; i < reg->count; i++) {
		if (strcmp(reg->bottles[i]->name, name) == 0) {
			if (index)
				*index = i;
			return reg->bottles[i];
		}
	}
	return NULL;
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

static void used_octets_locked(struct bf_registry *reg, bool used[256], const char *except)
{
	size_t i;

	memset(used, 0, 256 * sizeof(bool));
	used[0] = used[255] = used[BF_SUBNET_SKIP] = true;
	for (i = 0; i < reg->count; i++)
		if (!except || strcmp(reg->bottles[i]->name, except) != 0)
			used[reg->bottles[i]->meta.octet] = true;
}

/* The lowest slot of the mount's id range that overlaps no other
 * bottle's ids: two bottles never share a host id, live or not, since a
 * stopped bottle's files (copy workspace) keep its ids. */
static int pick_id_base_locked(struct bf_registry *reg, const char *except,
			       unsigned long long *out)
{
	unsigned slot;
	size_t i;

	for (slot = 0; slot < reg->cfg.id_slots; slot++) {
		unsigned long long base = reg->cfg.id_base + (unsigned long long)slot * BF_IDS_PER_BOTTLE;
		bool taken = false;

		for (i = 0; i < reg->count && !taken; i++) {
			unsigned long long other = reg->bottles[i]->meta.id_base;

			if (other && (!except || strcmp(reg->bottles[i]->name, except) != 0))
				taken = other < base + BF_IDS_PER_BOTTLE && base < other + BF_IDS_PER_BOTTLE;
		}
		if (!taken) {
			*out = base;
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
	p->log_max = reg->cfg.log_max > 0 ? reg->cfg.log_max : BF_LOG_MAX;
}

void bf_registry_save_locked(struct bf_registry *reg, struct bf_bottle *b)
{
	struct bf_error err = { 0 };

	if (bf_store_save(&reg->store, b->name, b->manifest_text, b->manifest_len, &b->meta, &err) < 0)
		bf_registry_report(reg, b->name, "%s", err.msg);
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

	if (!bf_registry_exists(reg, name))
		return -ENOENT;
	bf_registry_paths(reg, name, &p);
	if (strlcpy(out, file == BF_FILE_EGRESS ? p.egress : p.log, len) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int append_locked(struct bf_registry *reg, struct bf_bottle *b)
{
	struct bf_bottle **v = reallocarray(reg->bottles, reg->count + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	reg->bottles = v;
	reg->bottles[reg->count++] = b;
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
	bool used[256];
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
	used_octets_locked(reg, used, NULL);
	r = bf_subnet_pick(name, used, &meta.octet);
	if (r < 0) {
		r = bf_error_set(err, ENOSPC, "no free per-bottle subnet left (253 in use)");
		report_manifest_error(reg, name, what, 0, err);
		goto out;
	}
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
	if (r == 0 && (r = append_locked(reg, b)) < 0) {
		bf_store_remove(&reg->store, name, NULL);
		bf_error_set(err, ENOMEM, "out of memory");
	}
	if (r < 0) {
		report_manifest_error(reg, name, what, 0, err);
		bf_bottle_free(b);
		goto out;
	}
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
	struct bf_bottle *old, fresh;
	char what[BF_NAME_MAX + 16];
	int r;

	snprintf(what, sizeof(what), "%s/manifest", name);
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
out:
	pthread_mutex_unlock(&reg->lock);
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

	pthread_mutex_lock(&reg->lock);
	if (r == 0)
		r = bf_store_remove(&reg->store, name, err);
	if (r == 0)
		bf_registry_allow_reset_locked(reg, b);
	if (r < 0) {
		b->removing = false;
		bf_registry_report(reg, name, "rmdir: %s", err->msg);
		pthread_mutex_unlock(&reg->lock);
		return r;
	}
	for (i = 0; i < reg->count && reg->bottles[i] != b; i++)
		;
	memmove(&reg->bottles[i], &reg->bottles[i + 1], (reg->count - i - 1) * sizeof(*reg->bottles));
	reg->count--;
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
	qsort(v, i, sizeof(*v), cmp_str);
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
	if (find_locked(reg, name, NULL) || append_locked(reg, b) < 0) {
		bf_bottle_free(b);
		free(b);
		return -ENOMEM;
	}
	return 0;
}

/* Two records claiming one subnet can only come from a damaged state dir;
 * the later one moves so that live bottles never share a subnet. */
static void fix_octet_clashes(struct bf_registry *reg)
{
	size_t i, j;

	for (i = 1; i < reg->count; i++) {
		struct bf_bottle *b = reg->bottles[i];
		bool clash = false, used[256];

		for (j = 0; j < i && !clash; j++)
			clash = reg->bottles[j]->meta.octet == b->meta.octet;
		if (!clash)
			continue;
		used_octets_locked(reg, used, NULL);
		if (bf_subnet_pick(b->name, used, &b->meta.octet) == 0 &&
		    bf_subnet_from_octet(b->meta.octet, &b->subnet) == 0) {
			bf_registry_report(reg, b->name, "state: subnet clash, moved to %s", b->subnet.cidr);
			bf_store_save(&reg->store, b->name, b->manifest_text, b->manifest_len, &b->meta, NULL);
		}
	}
}

/* Records from before user namespaces have no id range, and two records
 * sharing one can only come from a damaged state dir: give a fresh range
 * (to bottles not running: a running guest keeps the ids it has). */
static void fix_id_ranges(struct bf_registry *reg)
{
	size_t i, j;

	for (i = 0; i < reg->count; i++) {
		struct bf_bottle *b = reg->bottles[i];
		bool clash = !b->meta.id_base;

		for (j = 0; j < i && !clash; j++) {
			unsigned long long other = reg->bottles[j]->meta.id_base;

			clash = other < b->meta.id_base + BF_IDS_PER_BOTTLE &&
				b->meta.id_base < other + BF_IDS_PER_BOTTLE;
		}
		if (!clash || busy(b->meta.state))
			continue;
		b->meta.id_base = 0;
		if (pick_id_base_locked(reg, b->name, &b->meta.id_base) < 0) {
			bf_registry_report(reg, b->name, "state: no free guest id range left");
			continue;
		}
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
	}
	r = bf_store_load(&reg->store, load_record, load_problem, &lc, err);
	if (r < 0)
		goto fail;
	fix_octet_clashes(reg);
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
	bf_store_close(&reg->store);
	bf_errors_log_destroy(&reg->errors);
	if (reg->shutdown_fd >= 0)
		close(reg->shutdown_fd);
	pthread_cond_destroy(&reg->changed);
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}
