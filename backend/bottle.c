#include "bottle.h"
#include "waitq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/string.h>

#include "buf.h"

#define BF_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const state_names[] = {
	[BF_STATE_PLANNED] = "planned",
	[BF_STATE_STARTING] = "starting",
	[BF_STATE_RUNNING] = "running",
	[BF_STATE_STOPPING] = "stopping",
	[BF_STATE_STOPPED] = "stopped",
	[BF_STATE_FAILED] = "failed",
};

/* Variables bottlefs sets itself; a manifest may not override them. */
static const char *const reserved_env[] = {
	"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy",
	"NO_PROXY", "no_proxy", "GIT_GATE_URL", "MCP_SUPERVISE_URL",
};

const char *bf_state_name(enum bf_state state)
{
	if ((size_t)state < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[state];
	return "unknown";
}

int bf_state_parse(const char *word, enum bf_state *out)
{
	size_t i;

	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (strcmp(word, state_names[i]) == 0) {
			*out = (enum bf_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int cmp_env_var(const void *a, const void *b)
{
	const struct bf_env_var *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int format_env(struct bf_bottle *b, const struct bf_env_var *vars, size_t n)
{
	size_t i;

	b->env = calloc(n + 1, sizeof(char *));
	if (!b->env)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct bf_buf kv = { 0 };

		bf_buf_puts(&kv, vars[i].name);
		bf_buf_putc(&kv, '=');
		bf_buf_puts(&kv, vars[i].value);
		if (bf_buf_finish(&kv) < 0)
			return -ENOMEM;
		b->env[b->env_len++] = kv.data;
	}
	return 0;
}

static bool manifest_sets(const struct bf_manifest *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->env_len; i++)
		if (strcmp(m->env[i].name, name) == 0)
			return true;
	return false;
}

void bf_guest_home(const struct bf_manifest *m, char *out, size_t len)
{
	if (strcmp(m->user, "root") == 0)
		snprintf(out, len, "/root");
	else
		snprintf(out, len, "/home/%s", m->user);
}

/* The guest environment: the manifest's [env] plus the sidecar variables,
 * sorted by name (names are unique: the parser refuses duplicates and the
 * sidecar names are reserved). */
static int build_env(struct bf_bottle *b, struct bf_error *err)
{
	const struct bf_manifest *m = &b->manifest;
	const char *host = b->backend->guest_sidecar_host(b->subnet.proxy);
	/* The URL buffers outlive the blocks that fill them: vars[] points in. */
	// cppcheck-suppress variableScope
	char proxy[64], git_url[64], supervise_url[64], home[64];
	struct bf_buf path = { 0 };
	struct bf_env_var *vars;
	size_t n = 0;
	int r;

	vars = calloc(m->env_len + 16, sizeof(*vars));
	if (!vars)
		return bf_error_set(err, ENOMEM, "out of memory");
	if (m->env_len)
		memcpy(vars, m->env, m->env_len * sizeof(*vars));
	n = m->env_len;
	/* What a login would give the guest user; the manifest may set its
	 * own of each. */
	bf_guest_home(m, home, sizeof(home));
	/* path_prepend goes before the PATH that holds (the manifest's or
	 * the default). */
	{
		const char *base = BF_DEFAULT_PATH;

		for (size_t i = 0; i < m->path_prepend_len; i++) {
			bf_buf_puts(&path, m->path_prepend[i]);
			bf_buf_putc(&path, ':');
		}
		for (size_t i = 0; i < n; i++)
			if (strcmp(vars[i].name, "PATH") == 0)
				base = vars[i].value;
		bf_buf_puts(&path, base);
		if (bf_buf_finish(&path) < 0) {
			free(vars);
			return bf_error_set(err, ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < n; i++)
			if (strcmp(vars[i].name, "PATH") == 0)
				vars[i].value = path.data;
	}
	{
		const struct bf_env_var defaults[] = {
			{ "PATH", path.data }, { "HOME", home }, { "USER", m->user },
			{ "LOGNAME", m->user }, { "SHELL", "/bin/sh" }, { "TERM", "xterm-256color" },
			{ "LANG", "C.UTF-8" },
		};

		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			if (!manifest_sets(m, defaults[i].name))
				vars[n++] = defaults[i];
	}
	snprintf(proxy, sizeof(proxy), "http://%s:%d", host, BF_PORT_EGRESS);
	vars[n++] = (struct bf_env_var){ "HTTPS_PROXY", proxy };
	vars[n++] = (struct bf_env_var){ "HTTP_PROXY", proxy };
	vars[n++] = (struct bf_env_var){ "https_proxy", proxy };
	vars[n++] = (struct bf_env_var){ "http_proxy", proxy };
	vars[n++] = (struct bf_env_var){ "NO_PROXY", "localhost,127.0.0.1" };
	vars[n++] = (struct bf_env_var){ "no_proxy", "localhost,127.0.0.1" };
	if (m->git_gate) {
		snprintf(git_url, sizeof(git_url), "git://%s:%d/repo.git", host, BF_PORT_GIT_GATE);
		vars[n++] = (struct bf_env_var){ "GIT_GATE_URL", git_url };
	}
	if (m->supervise) {
		snprintf(supervise_url, sizeof(supervise_url), "http://%s:%d", host, BF_PORT_SUPERVISE);
		vars[n++] = (struct bf_env_var){ "MCP_SUPERVISE_URL", supervise_url };
	}
	qsort(vars, n, sizeof(*vars), cmp_env_var);
	r = format_env(b, vars, n);
	free(vars);
	bf_buf_free(&path);
	return r < 0 ? bf_error_set(err, ENOMEM, "out of memory") : 0;
}

static int check_reserved_env(const struct bf_manifest *m, struct bf_error *err)
{
	size_t i, j;

	for (i = 0; i < m->env_len; i++)
		for (j = 0; j < sizeof(reserved_env) / sizeof(reserved_env[0]); j++)
			if (strcmp(m->env[i].name, reserved_env[j]) == 0)
				return bf_error_set(err, EINVAL,
						    "[env] %s is set by bottlefs and may not be overridden",
						    m->env[i].name);
	return 0;
}

/* No bottle runs unbounded: what the manifest leaves out gets a default
 * (bottlefs-manifest(5), [limits]), shown in plan.toml as it applies. */
static void apply_default_limits(struct bf_manifest *m, const struct bf_backend *backend)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	long long ram = pages > 0 && page > 0 ? (long long)pages * page : 4LL << 30;

	if (!m->pids)
		m->pids = BF_DEFAULT_PIDS;
	/* A VM's kernel keeps a page map of all its memory from the start
	 * (about 3% of it, in QEMU's resident set): its default is modest. */
	if (!m->memory)
		m->memory = backend && backend->own_kernel ? BF_DEFAULT_VM_MEMORY : ram / 2;
	if (!m->tmp)
		m->tmp = m->memory / 4 < (1LL << 30) ? m->memory / 4 : 1LL << 30;
	if (!m->disk)
		m->disk = BF_DEFAULT_DISK;
}

int bf_bottle_build(const char *name, const char *text, size_t len,
		    const struct bf_meta *meta, struct bf_bottle *out,
		    struct bf_error *err, int *line)
{
	int r;

	memset(out, 0, sizeof(*out));
	*line = 0;
	if (!bf_name_valid(name))
		return bf_error_set(err, EINVAL,
				    "bad bottle name \"%s\": use 1-63 of [a-z0-9_.-], starting with a letter or digit",
				    name);
	strlcpy(out->name, name, sizeof(out->name));
	r = bf_manifest_parse(text, len, &out->manifest, err, line);
	if (r < 0)
		return r;
	out->meta = *meta;
	out->backend = bf_backend_find(out->manifest.backend ? out->manifest.backend : meta->backend);
	if (!out->backend) {
		r = bf_error_set(err, EINVAL, "unknown backend \"%s\"", meta->backend);
		goto fail;
	}
	strlcpy(out->meta.backend, out->backend->name, sizeof(out->meta.backend));
	if ((r = out->backend->check_manifest(&out->manifest, err)) < 0 ||
	    (r = check_reserved_env(&out->manifest, err)) < 0)
		goto fail;
	if (bf_subnet_from_octet(meta->octet, &out->subnet) < 0) {
		r = bf_error_set(err, EINVAL, "invalid subnet octet %u", meta->octet);
		goto fail;
	}
	out->manifest_text = malloc(len + 1);
	if (!out->manifest_text) {
		r = bf_error_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(out->manifest_text, text, len);
	out->manifest_text[len] = '\0';
	out->manifest_len = len;
	r = build_env(out, err);
	if (r < 0)
		goto fail;
	out->stop_timeout = out->manifest.stop_timeout >= 0 ? out->manifest.stop_timeout
							  : BF_DEFAULT_STOP_TIMEOUT;
	apply_default_limits(&out->manifest, out->backend);
	return 0;
fail:
	bf_bottle_free(out);
	return r;
}

void bf_bottle_free(struct bf_bottle *b)
{
	size_t i;

	bf_manifest_free(&b->manifest);
	free(b->manifest_text);
	for (i = 0; i < b->env_len; i++)
		free(b->env[i]);
	free(b->env);
	for (i = 0; i < b->n_allow_live; i++)
		free(b->allow_live[i]);
	free(b->allow_live);
	if (b->view_open)
		close(b->view_fd);
	bf_waitq_unref(b->approvals);
	bf_waitq_unref(b->questions);
	free(b->save_pending);
	memset(b, 0, sizeof(*b));
}
