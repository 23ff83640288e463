/* MNT/cleanup: what this mount's state dir and backends hold that no
 * bottle owns any more (the seeds' cleanup plan): state records and
 * allowlists without a bottle, stale storage directories, and what each
 * backend lists (runc containers, labelled docker containers and volumes).
 * Reading lists them, one line each with what removing does; writing
 * "run" removes them. Every orphan is checked against the bottles again
 * at the moment it is removed, under the lock; the removal itself runs
 * without it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <bsd/string.h>

#include "cleanup.h"
#include "copy_tree.h"
#include "ctl_msg.h"
#include "registry_internal.h"

enum orphan_kind { ORPHAN_RECORD, ORPHAN_ALLOW, ORPHAN_RUN_DIR, ORPHAN_BACKEND };

struct orphan {
	enum orphan_kind kind;
	const struct bf_backend *backend;   /* ORPHAN_BACKEND */
	char type[32];          /* the line's first word */
	char id[256];           /* a bottle name, or the backend's id */
	char what[512];
};

struct plan {
	struct orphan *v;
	size_t n;
	bool failed;
};

static void plan_add(struct plan *p, enum orphan_kind kind, const struct bf_backend *backend,
		     const char *type, const char *id, const char *what)
{
	struct orphan *v = reallocarray(p->v, p->n + 1, sizeof(*v));

	if (!v) {
		p->failed = true;
		return;
	}
	p->v = v;
	v[p->n] = (struct orphan){ .kind = kind, .backend = backend };
	strlcpy(v[p->n].type, type, sizeof(v[p->n].type));
	strlcpy(v[p->n].id, id, sizeof(v[p->n].id));
	strlcpy(v[p->n].what, what, sizeof(v[p->n].what));
	p->n++;
}

/* The names and identities of this mount's bottles, copied. */
struct known {
	char **names, **identities;
	size_t n;
};

static void known_free(struct known *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->names[i]);
		free(k->identities[i]);
	}
	free(k->names);
	free(k->identities);
}

static int known_of(struct bf_registry *reg, struct known *k)
{
	size_t i;
	int r = 0;

	memset(k, 0, sizeof(*k));
	pthread_mutex_lock(&reg->lock);
	k->names = calloc(reg->count + 1, sizeof(char *));
	k->identities = calloc(reg->count + 1, sizeof(char *));
	for (i = 0; k->names && k->identities && i < reg->count; i++, k->n++) {
		k->names[i] = strdup(reg->bottles[i]->name);
		k->identities[i] = strdup(reg->bottles[i]->meta.identity);
		if (!k->names[i] || !k->identities[i]) {
			k->n++;
			r = -ENOMEM;
			break;
		}
	}
	if (!k->names || !k->identities)
		r = -ENOMEM;
	pthread_mutex_unlock(&reg->lock);
	if (r < 0)
		known_free(k);
	return r;
}

static bool is_known(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Entries of STATE/SUB that name no bottle (`suffix` stripped). */
static void scan_dir(struct plan *p, const struct bf_registry *reg, const struct known *k,
		     const char *sub, const char *suffix, enum orphan_kind kind, const char *type,
		     const char *what)
{
	char dir[1200], name[256], text[1400];
	cleanup_closedir DIR *d = NULL;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/%s", reg->cfg.state_dir, sub);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name), sl = suffix ? strlen(suffix) : 0;

		if (e->d_name[0] == '.')
			continue;
		strlcpy(name, e->d_name, sizeof(name));
		/* A temporary file of a write that was cut short counts too. */
		if (sl && len > sl && strcmp(e->d_name + len - sl, suffix) == 0)
			name[len - sl] = '\0';
		if (is_known(k->names, k->n, name))
			continue;
		snprintf(text, sizeof(text), "%s/%s: %s", dir, e->d_name, what);
		plan_add(p, kind, NULL, type, e->d_name, text);
	}
}

static void emit_backend(void *ctx, const char *type, const char *id, const char *what)
{
	struct plan *p = ((void **)ctx)[0];
	const struct bf_backend *b = ((void **)ctx)[1];

	plan_add(p, ORPHAN_BACKEND, b, type, id, what);
}

static int make_plan(struct bf_registry *reg, struct plan *p)
{
	const struct bf_backend *const *all = bf_backend_all();
	struct known k;
	int r = known_of(reg, &k);

	memset(p, 0, sizeof(*p));
	if (r < 0)
		return r;
	scan_dir(p, reg, &k, "bottles", ".json", ORPHAN_RECORD, "state-record",
		 "a state record no bottle was made from (unreadable, or of a bottle removed by hand): the file is removed");
	scan_dir(p, reg, &k, "allow", NULL, ORPHAN_ALLOW, "allowlist",
		 "the live allowlist of a bottle that is gone: the file is removed");
	scan_dir(p, reg, &k, "run", NULL, ORPHAN_RUN_DIR, "run-dir",
		 "the storage of a bottle that is gone (images, snapshots): its mounts are detached, the directory removed");
	for (size_t i = 0; all[i]; i++) {
		struct bf_error ignored = { 0 };

		/* A backend that cannot be asked (an engine down) lists none. */
		if (all[i]->orphans) {
			void *ctx[2] = { p, (void *)all[i] };

			all[i]->orphans(reg->cfg.state_dir, k.identities, k.n, emit_backend, ctx, &ignored);
		}
	}
	known_free(&k);
	return p->failed ? -ENOMEM : 0;
}

int bf_registry_cleanup_render(struct bf_registry *reg, struct bf_buf *out)
{
	struct plan p;
	int r = make_plan(reg, &p);

	for (size_t i = 0; r == 0 && i < p.n; i++)
		bf_buf_printf(out, "%s %s: %s\n", p.v[i].type, p.v[i].id, p.v[i].what);
	free(p.v);
	return r < 0 ? r : bf_buf_finish(out);
}

/* A stale storage dir may still hold mounts (a daemon that crashed): they
 * are detached first, and the removal never crosses one. */
static int remove_run_dir(const char *dir, struct bf_error *err)
{
	static const char *const mounts[] = { "workspace", "homefs", "workfs", "home.mnt", "work.mnt" };
	char path[1500];

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, mounts[i]);
		umount2(path, MNT_DETACH);
	}
	return bf_remove_tree(dir, err);
}

static int remove_orphan(struct bf_registry *reg, const struct orphan *o, struct bf_error *err)
{
	char path[1400];

	/* Still nobody's? A bottle of that name may have been made since
	 * (a VM's orphan is named by its bottle's name, too). */
	if (o->kind != ORPHAN_BACKEND || strcmp(o->type, "microvm-vm") == 0) {
		char name[256];
		bool claimed;
		size_t len;

		strlcpy(name, o->id, sizeof(name));
		len = strlen(name);
		if (o->kind == ORPHAN_RECORD && len > 5 && strcmp(name + len - 5, ".json") == 0)
			name[len - 5] = '\0';
		pthread_mutex_lock(&reg->lock);
		claimed = bf_registry_find_locked(reg, name) != NULL;
		pthread_mutex_unlock(&reg->lock);
		if (claimed)
			return 0;
	}
	switch (o->kind) {
	case ORPHAN_RECORD:
	case ORPHAN_ALLOW:
		snprintf(path, sizeof(path), "%s/%s/%s", reg->cfg.state_dir,
			 o->kind == ORPHAN_RECORD ? "bottles" : "allow", o->id);
		if (unlink(path) < 0 && errno != ENOENT)
			return bf_error_set(err, errno, "remove %s: %s", path, strerror(errno));
		return 0;
	case ORPHAN_RUN_DIR:
		snprintf(path, sizeof(path), "%s/run/%s", reg->cfg.state_dir, o->id);
		return remove_run_dir(path, err);
	default:
		return o->backend->remove_orphan(reg->cfg.state_dir, o->type, o->id, err);
	}
}

int bf_registry_cleanup_ctl(struct bf_registry *reg, const char *msg, size_t len, struct bf_error *err)
{
	static const struct bf_ctl_cmd table[] = { { "run", 0, 0 } };
	struct bf_ctl_msg m;
	struct plan p;
	int r = bf_ctl_parse(msg, len, table, 1, "run", &m, err), failed = 0;

	if (r < 0) {
		bf_registry_report(reg, NULL, "cleanup: %s", err->msg);
		return r;
	}
	r = make_plan(reg, &p);
	if (r < 0) {
		free(p.v);
		return bf_error_set(err, -r, "cleanup: %s", strerror(-r));
	}
	for (size_t i = 0; i < p.n; i++) {
		struct bf_error one = { 0 };

		if (remove_orphan(reg, &p.v[i], &one) < 0) {
			bf_registry_report(reg, NULL, "cleanup: %s %s: %s", p.v[i].type, p.v[i].id, one.msg);
			if (!failed++)
				*err = one;
		}
	}
	free(p.v);
	return failed ? -err->code : 0;
}
