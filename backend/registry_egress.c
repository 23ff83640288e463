/* Each running bottle's egress proxy and its live allowlist (NAME/allow,
 * NAME/egress). The manifest's [network] allow is the starting point; a
 * write to `allow` replaces it, is kept in the state dir, and reaches the
 * proxy at once, so the next connection obeys it. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/string.h>

#include "allowlist.h"
#include "egress_proxy.h"
#include "supervise.h"
#include "waitq.h"
#include "git/git_gate.h"
#include "registry_internal.h"

void bf_registry_rules_of_locked(const struct bf_bottle *b, char *const **rules, size_t *n)
{
	if (b->allow_live) {
		*rules = b->allow_live;
		*n = b->n_allow_live;
	} else {
		*rules = b->manifest.allow;
		*n = b->manifest.allow_len;
	}
}

/* The gate is opened here, without the lock: it makes the mirror with
 * git. A gate that cannot open still listens, and says why to each
 * client (and in errors). */
static struct bf_git_gate *open_git_gate(const struct bf_bottle *b, const struct bf_paths *paths,
					 struct bf_error *err)
{
	const struct bf_manifest *m = &b->manifest;
	struct bf_git_gate_config cfg = {
		.dir = paths->git_dir, .repo = m->git_repo, .id = (uid_t)b->meta.id_base,
		.push = m->git_push, .n_push = m->git_push_len,
		.fetch = m->git_fetch, .n_fetch = m->git_fetch_len,
		.force = m->git_force, .timeout = (int)m->idle_timeout,
	};
	struct bf_git_gate *g = NULL;

	bf_caller_of_uid(b->meta.owner, &cfg.writer);
	if (bf_git_gate_open(&cfg, &g, err) < 0)
		return NULL;
	return g;
}

void bf_sidecars_open(const struct bf_bottle *b, const struct bf_run *run,
		      const struct bf_paths *paths, struct bf_sidecars *out)
{
	const struct bf_backend *backend = b->backend;
	const struct bf_manifest *m = &b->manifest;
	int fd;

	memset(out, 0, sizeof(*out));
	if (!backend->sidecar_listen) {
		bf_error_set(&out->err, ENOTSUP, "the %s backend has no sidecars", backend->name);
		return;
	}
	fd = backend->sidecar_listen(run, BF_PORT_EGRESS, &out->err);
	if (fd >= 0)
		out->l[out->n++] = (struct bf_sidecar_listener){ fd, BF_SIDECAR_EGRESS };
	if (fd >= 0 && m->git_gate &&
	    (fd = backend->sidecar_listen(run, BF_PORT_GIT_GATE, &out->err)) >= 0)
		out->l[out->n++] = (struct bf_sidecar_listener){
			fd, BF_SIDECAR_GIT_GATE, open_git_gate(b, paths, &out->git_err) };
	if (fd >= 0 && m->supervise &&
	    (fd = backend->sidecar_listen(run, BF_PORT_SUPERVISE, &out->err)) >= 0)
		out->l[out->n++] = (struct bf_sidecar_listener){ fd, BF_SIDECAR_SUPERVISE };
	out->failed = fd < 0;
}

void bf_sidecars_close(struct bf_sidecars *s)
{
	for (size_t i = 0; i < s->n; i++) {
		close(s->l[i].fd);
		bf_git_gate_free(s->l[i].git);
		bf_supervise_free(s->l[i].sup);
	}
	s->n = 0;
}

void bf_registry_egress_start_locked(struct bf_registry *reg, struct bf_bottle *b,
				     struct bf_sidecars *sc)
{
	struct bf_egress_limits limits;
	struct bf_error err = sc->err;
	struct bf_paths paths;
	char *const *rules;
	size_t n_rules;

	if (!b->backend->sidecar_listen || b->egress) {
		bf_sidecars_close(sc);
		return;
	}
	bf_registry_rules_of_locked(b, &rules, &n_rules);
	bf_registry_paths(reg, b->name, &paths);
	limits.idle_timeout = (int)b->manifest.idle_timeout;
	limits.max_connections = (unsigned)b->manifest.max_connections;
	limits.log_max = reg->cfg.log_max;
	limits.ask = NULL;
	/* pending/ takes refused destinations (ask) and request_access
	 * calls (supervise); requests/ takes ask_human's questions. */
	if (b->manifest.ask || b->manifest.supervise) {
		if (!b->approvals)
			b->approvals = bf_waitq_new();
		if (b->approvals)
			bf_waitq_reopen(b->approvals);
		if (b->manifest.ask)
			limits.ask = b->approvals;
	}
	if (b->manifest.supervise) {
		char log_path[sizeof(reg->cfg.state_dir) + 16];

		if (!b->questions)
			b->questions = bf_waitq_new();
		if (b->questions)
			bf_waitq_reopen(b->questions);
		bf_registry_requests_log_path(reg, log_path, sizeof(log_path));
		for (size_t i = 0; i < sc->n; i++)
			if (sc->l[i].kind == BF_SIDECAR_SUPERVISE && !sc->l[i].sup)
				sc->l[i].sup = bf_supervise_new(b->name, b->questions, b->approvals, log_path);
	}
	if (sc->failed ||
	    bf_egress_start(paths.egress, sc->l, sc->n, rules, n_rules, &limits, &b->egress, &err) < 0) {
		bf_sidecars_close(sc);
		/* Without its proxy the guest reaches nothing at all: safe, but say so. */
		bf_registry_report(reg, b->name, "egress proxy: %s", err.msg);
		bf_registry_log_event(reg, b->name, "egress proxy failed: %s", err.msg);
		return;
	}
	sc->n = 0;      /* the proxy owns them now */
	if (sc->git_err.msg[0]) {
		bf_registry_report(reg, b->name, "git-gate: %s", sc->git_err.msg);
		bf_registry_log_event(reg, b->name, "git-gate failed: %s", sc->git_err.msg);
	}
	bf_registry_log_event(reg, b->name, "egress proxy listening on %s:%d in the guest",
			      b->backend->guest_sidecar_host(b->subnet.proxy), BF_PORT_EGRESS);
}

void bf_registry_egress_stop_locked(struct bf_bottle *b)
{
	/* What waits for a person is refused with the guest gone. */
	if (b->approvals)
		bf_waitq_close(b->approvals);
	if (b->questions)
		bf_waitq_close(b->questions);
	bf_egress_stop(b->egress);
	b->egress = NULL;
}

static void free_rules(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void bf_registry_allow_reset_locked(struct bf_registry *reg, struct bf_bottle *b)
{
	free_rules(b->allow_live, b->n_allow_live);
	b->allow_live = NULL;
	b->n_allow_live = 0;
	bf_store_remove_allow(&reg->store, b->name);
}

static int parse_rules(const char *text, size_t len, char ***out, size_t *n_out,
		       struct bf_error *err, int *bad_line);

/* The stored list is read back through the same parser as a write. */
void bf_registry_allow_load_locked(struct bf_registry *reg, struct bf_bottle *b)
{
	struct bf_error err = { 0 };
	char *text = NULL, **rules;
	size_t len, n;
	int bad_line = 0;

	if (bf_store_load_allow(&reg->store, b->name, &text, &len) < 0)
		return;
	if (parse_rules(text, len, &rules, &n, &err, &bad_line) < 0) {
		bf_registry_report(reg, b->name, "state: allow/%s: %s (the manifest's list holds)",
				   b->name, err.msg);
	} else {
		b->allow_live = rules;
		b->n_allow_live = n;
	}
	free(text);
}

int bf_registry_render_allow_locked(const struct bf_bottle *b, struct bf_buf *out)
{
	char *const *rules;
	size_t n, i;

	bf_registry_rules_of_locked(b, &rules, &n);
	for (i = 0; i < n; i++) {
		bf_buf_puts(out, rules[i]);
		bf_buf_putc(out, '\n');
	}
	return bf_buf_finish(out);
}

/* One rule a line; blank lines and #-comments are skipped. All or nothing. */
static int parse_rules(const char *text, size_t len, char ***out, size_t *n_out,
		       struct bf_error *err, int *bad_line)
{
	char *copy = strndup(text, len), *save = NULL, *line, **v;
	size_t n = 0;
	int line_no = 0;

	if (!copy || memchr(text, '\0', len)) {
		free(copy);
		return bf_error_set(err, EINVAL, "rules are text, one a line");
	}
	v = calloc(len / 2 + 2, sizeof(char *));
	if (!v) {
		free(copy);
		return bf_error_set(err, ENOMEM, "out of memory");
	}
	for (line = copy; line; line = save) {
		char *end, *hash;

		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		line_no++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		while (isspace((unsigned char)*line))
			line++;
		end = line + strlen(line);
		while (end > line && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*line)
			continue;
		if (bf_allow_rule_check(line, err) < 0 || !(v[n] = strdup(line))) {
			*bad_line = line_no;
			free_rules(v, n);
			free(copy);
			return err->code ? -err->code : bf_error_set(err, ENOMEM, "out of memory");
		}
		n++;
	}
	free(copy);
	*out = v;
	*n_out = n;
	return 0;
}

int bf_registry_allow_check(struct bf_registry *reg, const char *name, const char *text,
			    size_t len, struct bf_error *err)
{
	const char *last = memrchr(text, '\n', len);
	char **rules = NULL;
	size_t n = 0;
	int bad_line = 0, r;

	if (!last)
		return 0;
	r = parse_rules(text, (size_t)(last - text) + 1, &rules, &n, err, &bad_line);
	if (r < 0) {
		bf_registry_report(reg, name, "allow line %d: %s", bad_line, err->msg);
		return r;
	}
	free_rules(rules, n);
	return 0;
}

int bf_registry_allow_set(struct bf_registry *reg, const char *name, const char *text, size_t len,
			  struct bf_error *err)
{
	struct bf_bottle *b;
	char **rules = NULL;
	size_t n = 0;
	int bad_line = 0, r;

	r = parse_rules(text, len, &rules, &n, err, &bad_line);
	if (r < 0) {
		bf_registry_report(reg, name, "allow line %d: %s", bad_line, err->msg);
		return r;
	}
	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	if (!b) {
		r = bf_error_set(err, ENOENT, "no bottle \"%s\"", name);
	} else if ((r = bf_store_save_allow(&reg->store, name, rules, n, err)) < 0) {
		bf_registry_report(reg, name, "allow: %s", err->msg);
	} else {
		if (b->egress)
			bf_egress_set_rules(b->egress, rules, n);
		free_rules(b->allow_live, b->n_allow_live);
		b->allow_live = rules;
		b->n_allow_live = n;
		rules = NULL;
		bf_registry_changed_locked(reg, name);
		bf_registry_log_event(reg, name, "allowlist replaced: %zu rules", n);
	}
	pthread_mutex_unlock(&reg->lock);
	free_rules(rules, n);
	return r;
}
