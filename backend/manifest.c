#include "manifest.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "backends.h"
#include "allowlist.h"
#include "egress_proxy.h"
#include "git/git_refs.h"
#include "seccomp_policy.h"
#include "toml.h"

/* The schema, as a table per TOML table: unknown keys get a hint from it. */
struct key_spec {
	const char *table;   /* "" for the root */
	const char *key;
};

static const struct key_spec schema[] = {
	{ "", "agent" }, { "", "backend" }, { "", "image" }, { "", "kernel" }, { "", "user" },
	{ "", "path_prepend" },
	{ "", "command" }, { "", "workdir" }, { "", "stop_timeout" },
	{ "", "env" }, { "", "workspace" }, { "", "network" },
	{ "", "limits" }, { "", "sidecars" },
	{ "workspace", "path" }, { "workspace", "mode" },
	{ "network", "allow" }, { "network", "idle_timeout" }, { "network", "max_connections" },
	{ "network", "ask" },
	{ "sidecars", "git_gate" }, { "sidecars", "supervise" },
	{ "", "git" }, { "git", "repo" }, { "git", "push" }, { "git", "fetch" }, { "git", "force" },
	{ "limits", "cpus" }, { "limits", "memory" }, { "limits", "pids" }, { "limits", "tmp" },
	{ "limits", "disk" },
	{ "", "seccomp" }, { "seccomp", "allow" },
	{ "", "mount" }, { "mount", "source" }, { "mount", "target" }, { "mount", "mode" },
};

#define N_SCHEMA (sizeof(schema) / sizeof(schema[0]))

static const char *const default_command[] = { "sleep", "infinity" };

/* Names of the mount's own top-level entries. */
static const char *const reserved_names[] = { "new", "errors", "backends", "cleanup", "requests.log" };

bool bf_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > BF_NAME_MAX)
		return false;
	for (i = 0; i < sizeof(reserved_names) / sizeof(reserved_names[0]); i++)
		if (strcmp(name, reserved_names[i]) == 0)
			return false;
	if (!islower((unsigned char)name[0]) && !isdigit((unsigned char)name[0]))
		return false;
	for (i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!islower(c) && !isdigit(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

const char *bf_workspace_mode_name(enum bf_workspace_mode mode)
{
	switch (mode) {
	case BF_WORKSPACE_COPY: return "copy";
	case BF_WORKSPACE_BIND: return "bind";
	default: return "none";
	}
}

int bf_parse_size(const char *s, long long *out)
{
	char *end;
	long long v, mult = 1;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': mult = 1LL << 10; end++; break;
	case 'M': mult = 1LL << 20; end++; break;
	case 'G': mult = 1LL << 30; end++; break;
	case 'T': mult = 1LL << 40; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end)
		return -EINVAL;
	if (v > LLONG_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

/* Levenshtein distance, bounded to short keys. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int unknown_key(const char *table, const char *key, struct bf_error *err)
{
	const char *best = NULL;
	size_t best_d = 3, i;
	const char *where = *table ? table : "top level";

	for (i = 0; i < N_SCHEMA; i++) {
		size_t d;

		if (strcmp(schema[i].table, table) != 0)
			continue;
		d = edit_distance(key, schema[i].key);
		if (d < best_d) {
			best_d = d;
			best = schema[i].key;
		}
	}
	if (best)
		return bf_error_set(err, EINVAL, "unknown key \"%s\" in %s (did you mean \"%s\"?)",
				    key, where, best);
	/* A right key in the wrong table is a common slip. */
	for (i = 0; i < N_SCHEMA; i++)
		if (strcmp(schema[i].key, key) == 0 && strcmp(schema[i].table, table) != 0)
			return bf_error_set(err, EINVAL, "unknown key \"%s\" in %s (did you mean [%s] %s?)",
					    key, where, schema[i].table, key);
	return bf_error_set(err, EINVAL, "unknown key \"%s\" in %s", key, where);
}

static int check_known_keys(const struct toml_value *t, const char *table,
			    struct bf_error *err, int *line)
{
	size_t i, j;

	for (i = 0; i < t->u.table.len; i++) {
		const char *key = t->u.table.items[i].key;
		bool known = false;

		for (j = 0; j < N_SCHEMA && !known; j++)
			known = strcmp(schema[j].table, table) == 0 && strcmp(schema[j].key, key) == 0;
		if (!known) {
			*line = t->u.table.items[i].line;
			return unknown_key(table, key, err);
		}
	}
	return 0;
}

static int wrong_type(const struct toml_kv *kv, const char *want,
		      struct bf_error *err, int *line)
{
	*line = kv->line;
	return bf_error_set(err, EINVAL, "key \"%s\" must be %s, not %s", kv->key, want,
			    toml_type_name(kv->value->type));
}

static int dup_string(const char *s, char **out, struct bf_error *err)
{
	*out = strdup(s);
	return *out ? 0 : bf_error_set(err, ENOMEM, "out of memory");
}

/* Optional string key; leaves *out as is when absent. */
static int get_string(const struct toml_value *t, const char *key, char **out,
		      struct bf_error *err, int *line)
{
	const struct toml_kv *kv = toml_table_get(t, key);
	char *copy;

	if (!kv)
		return 0;
	if (kv->value->type != TOML_STRING)
		return wrong_type(kv, "a string", err, line);
	if (kv->value->u.str.len == 0) {
		*line = kv->line;
		return bf_error_set(err, EINVAL, "key \"%s\" must not be empty", key);
	}
	if (dup_string(kv->value->u.str.ptr, &copy, err) < 0)
		return -ENOMEM;
	free(*out);
	*out = copy;
	return 0;
}

static int get_integer(const struct toml_value *t, const char *key,
		       long long min, long long max, long long *out,
		       struct bf_error *err, int *line)
{
	const struct toml_kv *kv = toml_table_get(t, key);

	if (!kv)
		return 0;
	if (kv->value->type != TOML_INTEGER)
		return wrong_type(kv, "an integer", err, line);
	if (kv->value->u.integer < min || kv->value->u.integer > max) {
		*line = kv->line;
		return bf_error_set(err, EINVAL, "key \"%s\" must be between %lld and %lld",
				    key, min, max);
	}
	*out = kv->value->u.integer;
	return 0;
}

static int get_bool(const struct toml_value *t, const char *key, bool *out,
		    struct bf_error *err, int *line)
{
	const struct toml_kv *kv = toml_table_get(t, key);

	if (!kv)
		return 0;
	if (kv->value->type != TOML_BOOLEAN)
		return wrong_type(kv, "a boolean", err, line);
	*out = kv->value->u.boolean;
	return 0;
}

/* A C0 control byte or DEL: would split a line of the guest's passwd, of
 * the env file, or a KEY=value of the environment. Tab is one too. */
static const char *control_byte(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return s;
	return NULL;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n && v; i++)
		free(v[i]);
	free(v);
}

static int get_string_array(const struct toml_value *t, const char *key,
			    char ***out, size_t *out_len,
			    struct bf_error *err, int *line)
{
	const struct toml_kv *kv = toml_table_get(t, key);
	const struct toml_value *a;
	char **v;
	size_t i;

	if (!kv)
		return 0;
	a = kv->value;
	if (a->type != TOML_ARRAY)
		return wrong_type(kv, "an array of strings", err, line);
	v = calloc(a->u.array.len + 1, sizeof(*v));
	if (!v)
		return bf_error_set(err, ENOMEM, "out of memory");
	for (i = 0; i < a->u.array.len; i++) {
		const struct toml_value *item = a->u.array.items[i];

		if (item->type != TOML_STRING) {
			free_strv(v, i);
			*line = item->line;
			return bf_error_set(err, EINVAL, "key \"%s\" must be an array of strings, item %zu is %s",
					    key, i + 1, toml_type_name(item->type));
		}
		v[i] = strdup(item->u.str.ptr);
		if (!v[i]) {
			free_strv(v, i);
			return bf_error_set(err, ENOMEM, "out of memory");
		}
	}
	free_strv(*out, *out_len);
	*out = v;
	*out_len = a->u.array.len;
	return 0;
}

/* A sub-table: absent is fine, anything but a table is a type error.
 * Its keys are checked against the schema unless they are free-form. */
static int get_table(const struct toml_value *root, const char *key, bool free_form,
		     const struct toml_value **out, struct bf_error *err, int *line)
{
	const struct toml_kv *kv = toml_table_get(root, key);

	*out = NULL;
	if (!kv)
		return 0;
	if (kv->value->type != TOML_TABLE)
		return wrong_type(kv, "a table", err, line);
	*out = kv->value;
	return free_form ? 0 : check_known_keys(kv->value, key, err, line);
}

static int parse_env(const struct toml_value *env, struct bf_manifest *m,
		     struct bf_error *err, int *line)
{
	size_t i;

	if (!env)
		return 0;
	m->env = calloc(env->u.table.len + 1, sizeof(*m->env));
	if (!m->env)
		return bf_error_set(err, ENOMEM, "out of memory");
	for (i = 0; i < env->u.table.len; i++) {
		const struct toml_kv *kv = &env->u.table.items[i];

		if (kv->value->type != TOML_STRING)
			return wrong_type(kv, "a string", err, line);
		if (!kv->key[0]) {
			*line = kv->line;
			return bf_error_set(err, EINVAL, "environment variable names must not be empty");
		}
		if (strchr(kv->key, '=') || strchr(kv->key, ' ') || control_byte(kv->key)) {
			*line = kv->line;
			return bf_error_set(err, EINVAL, "environment variable names must not hold '=', spaces or control bytes");
		}
		if (control_byte(kv->value->u.str.ptr)) {
			*line = kv->line;
			return bf_error_set(err, EINVAL, "environment variable %s: values must not hold a newline or control byte",
					    kv->key);
		}
		m->env[i].name = strdup(kv->key);
		m->env[i].value = strdup(kv->value->u.str.ptr);
		m->env_len = i + 1;
		if (!m->env[i].name || !m->env[i].value)
			return bf_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

static int parse_workspace(const struct toml_value *ws, struct bf_manifest *m,
			   struct bf_error *err, int *line)
{
	char *mode = NULL;
	const struct toml_kv *kv;
	int r;

	if (!ws)
		return 0;
	r = get_string(ws, "path", &m->workspace_path, err, line);
	if (r == 0)
		r = get_string(ws, "mode", &mode, err, line);
	if (r < 0)
		goto out;
	kv = toml_table_get(ws, mode ? "mode" : "path");
	if (!mode)
		m->workspace_mode = m->workspace_path ? BF_WORKSPACE_COPY : BF_WORKSPACE_NONE;
	else if (strcmp(mode, "copy") == 0)
		m->workspace_mode = BF_WORKSPACE_COPY;
	else if (strcmp(mode, "bind") == 0)
		m->workspace_mode = BF_WORKSPACE_BIND;
	else if (strcmp(mode, "none") == 0)
		m->workspace_mode = BF_WORKSPACE_NONE;
	else {
		*line = kv->line;
		r = bf_error_set(err, EINVAL, "workspace mode must be \"copy\", \"bind\" or \"none\", not \"%s\"", mode);
		goto out;
	}
	if (m->workspace_mode != BF_WORKSPACE_NONE && !m->workspace_path) {
		*line = kv->line;
		r = bf_error_set(err, EINVAL, "workspace mode \"%s\" needs a path", mode);
	} else if (m->workspace_mode == BF_WORKSPACE_NONE && m->workspace_path) {
		*line = kv->line;
		r = bf_error_set(err, EINVAL, "workspace path is set but mode is \"none\"");
	} else if (m->workspace_path && m->workspace_path[0] != '/') {
		*line = toml_table_get(ws, "path")->line;
		r = bf_error_set(err, EINVAL, "workspace path must be absolute");
	}
out:
	free(mode);
	return r;
}

/* A size: an integer of bytes or a string like "512M"; at least `min`. */
static int get_size(const struct toml_value *t, const char *key, long long min, long long *out,
		    struct bf_error *err, int *line)
{
	const struct toml_kv *kv = toml_table_get(t, key);

	if (!kv)
		return 0;
	if (kv->value->type == TOML_INTEGER) {
		*out = kv->value->u.integer;
	} else if (kv->value->type == TOML_STRING) {
		if (bf_parse_size(kv->value->u.str.ptr, out) < 0) {
			*line = kv->line;
			return bf_error_set(err, EINVAL, "%s must look like \"512M\" or \"2G\", not \"%s\"",
					    key, kv->value->u.str.ptr);
		}
	} else {
		return wrong_type(kv, "a string like \"2G\" or an integer of bytes", err, line);
	}
	if (*out < min) {
		*line = kv->line;
		return bf_error_set(err, EINVAL, "%s must be at least %lldM", key, min >> 20);
	}
	return 0;
}

static int parse_limits(const struct toml_value *limits, struct bf_manifest *m,
			struct bf_error *err, int *line)
{
	int r;

	if (!limits)
		return 0;
	r = get_integer(limits, "cpus", 1, 1024, &m->cpus, err, line);
	if (r == 0)
		r = get_integer(limits, "pids", 1, 4194304, &m->pids, err, line);
	if (r == 0)
		r = get_size(limits, "memory", 4LL << 20, &m->memory, err, line);
	if (r == 0)
		r = get_size(limits, "tmp", 1LL << 20, &m->tmp, err, line);
	if (r == 0)
		r = get_size(limits, "disk", 16LL << 20, &m->disk, err, line);
	return r;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static int check_user(const struct toml_value *root, const char *user,
		      struct bf_error *err, int *line)
{
	const char *p;

	*line = toml_table_get(root, "user") ? toml_table_get(root, "user")->line : 0;
	if (!*user || strlen(user) > 32)
		return bf_error_set(err, EINVAL, "user must be 1-32 characters");
	for (p = user; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
			return bf_error_set(err, EINVAL, "user must be a user name or a numeric uid, not \"%s\"", user);
	/* Numeric ids live in the bottle's 65536-id range: 0 is "root",
	 * 65535 the overflow id, and nothing may wrap around 2^32. */
	if (all_digits(user)) {
		if (strlen(user) > 5 || strtoul(user, NULL, 10) < 1 || strtoul(user, NULL, 10) > 65534)
			return bf_error_set(err, EINVAL, "a numeric user must be 1-65534 (use \"root\" for 0), not %s", user);
	}
	*line = 0;
	return 0;
}

/* Strings that land in generated guest files must be one clean line. */
static int check_line_strings(const struct toml_value *root, const struct bf_manifest *m,
			      struct bf_error *err, int *line)
{
	static const char *const keys[] = { "agent", "image", "workdir", "kernel" };
	const char *const values[] = { m->agent, m->image, m->workdir, m->kernel };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (values[i] && control_byte(values[i])) {
			*line = toml_table_get(root, keys[i])->line;
			return bf_error_set(err, EINVAL, "%s must not hold a newline or control byte", keys[i]);
		}
	}
	if (strchr(m->workdir, ':')) {
		*line = toml_table_get(root, "workdir")->line;
		return bf_error_set(err, EINVAL, "workdir must not hold ':' (it is the guest user's home in /etc/passwd)");
	}
	return 0;
}

/* `p` is `dir` or below it. */
static bool path_within(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(p, dir, n) == 0 && (p[n] == '/' || !p[n]);
}

/* Host paths no tool mount may bring in: the host's root and homes, the
 * kernel's interfaces, a container engine's socket. */
static const char *refused_source(const char *p)
{
	static const char *const exact[] = { "/", "/root", "/home", NULL };
	static const char *const trees[] = { "/proc", "/sys", "/dev", NULL };
	size_t i, n = strlen(p);

	for (i = 0; exact[i]; i++)
		if (strcmp(p, exact[i]) == 0)
			return exact[i];
	for (i = 0; trees[i]; i++)
		if (path_within(p, trees[i]))
			return trees[i];
	if (n >= 11 && strcmp(p + n - 11, "docker.sock") == 0)
		return "a docker socket";
	return NULL;
}

/* Guest paths bottlefs mounts itself, and paths that are not plain. */
static bool refused_target(const char *p)
{
	static const char *const ours[] = { "/proc", "/dev", "/sys", "/tmp", "/work", "/etc",
					    "/.bottlefs-init", "/home", "/root", NULL };
	size_t i, n = strlen(p);

	if (strcmp(p, "/") == 0)
		return true;
	for (i = 0; ours[i]; i++)
		if (path_within(p, ours[i]))
			return true;
	return strstr(p, "/../") || strstr(p, "/./") || strstr(p, "//") ||
	       (n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

static int parse_mounts(const struct toml_value *root, struct bf_manifest *m,
			struct bf_error *err, int *line)
{
	const struct toml_kv *kv = toml_table_get(root, "mount");
	size_t i;

	if (!kv)
		return 0;
	if (kv->value->type != TOML_ARRAY || !kv->value->u.array.of_tables)
		return wrong_type(kv, "an array of tables ([[mount]])", err, line);
	if (kv->value->u.array.len > BF_MOUNTS_MAX) {
		*line = kv->line;
		return bf_error_set(err, EINVAL, "at most %d [[mount]] tables", BF_MOUNTS_MAX);
	}
	m->mounts = calloc(kv->value->u.array.len, sizeof(*m->mounts));
	if (!m->mounts)
		return bf_error_set(err, ENOMEM, "out of memory");
	for (i = 0; i < kv->value->u.array.len; i++) {
		const struct toml_value *t = kv->value->u.array.items[i];
		struct bf_mount *mt = &m->mounts[i];
		char *mode = NULL;
		const char *why;
		int r;

		m->mounts_len = i + 1;
		if ((r = check_known_keys(t, "mount", err, line)) < 0 ||
		    (r = get_string(t, "source", &mt->source, err, line)) < 0 ||
		    (r = get_string(t, "target", &mt->target, err, line)) < 0 ||
		    (r = get_string(t, "mode", &mode, err, line)) < 0)
			return r;
		*line = t->line;
		mt->rw = mode && strcmp(mode, "rw") == 0;
		if (mode && !mt->rw && strcmp(mode, "ro") != 0) {
			free(mode);
			return bf_error_set(err, EINVAL, "[[mount]] mode must be \"ro\" or \"rw\"");
		}
		free(mode);
		if (!mt->source || !mt->target)
			return bf_error_set(err, EINVAL, "[[mount]] needs a source and a target");
		if (mt->source[0] != '/' || mt->target[0] != '/' || control_byte(mt->source) ||
		    control_byte(mt->target) || strchr(mt->source, ',') || strchr(mt->target, ','))
			return bf_error_set(err, EINVAL, "[[mount]] source and target must be absolute paths without ',' or control bytes");
		why = refused_source(mt->source);
		if (why)
			return bf_error_set(err, EINVAL, "[[mount]] source %s is refused (%s)", mt->source, why);
		if (refused_target(mt->target))
			return bf_error_set(err, EINVAL, "[[mount]] target %s is a path bottlefs mounts itself, or not a plain path",
					    mt->target);
	}
	*line = 0;
	return 0;
}

static int parse_seccomp(const struct toml_value *seccomp, struct bf_manifest *m,
			 struct bf_error *err, int *line)
{
	size_t i;
	int r;

	if (!seccomp)
		return 0;
	r = get_string_array(seccomp, "allow", &m->seccomp_allow, &m->seccomp_allow_len, err, line);
	if (r < 0)
		return r;
	if (m->seccomp_allow_len > 64) {
		*line = toml_table_get(seccomp, "allow")->line;
		return bf_error_set(err, EINVAL, "seccomp allow may name at most 64 calls");
	}
	for (i = 0; i < m->seccomp_allow_len; i++) {
		if (!bf_seccomp_known(m->seccomp_allow[i])) {
			*line = toml_table_get(seccomp, "allow")->line;
			return bf_error_set(err, EINVAL, "seccomp allow: \"%s\" is not a system call", m->seccomp_allow[i]);
		}
	}
	return 0;
}

static int check_git_patterns(const struct toml_value *git, const char *key, char *const *v,
			      size_t n, struct bf_error *err, int *line)
{
	for (size_t i = 0; i < n; i++) {
		if (bf_git_pattern_check(v[i], err) < 0) {
			*line = toml_table_get(git, key)->line;
			return -EINVAL;
		}
	}
	return 0;
}

/* [git]: the repository the git-gate serves, and which refs the agent
 * sees (fetch) and may change (push). [sidecars] git_gate follows it. */
static int parse_git(const struct toml_value *git, const struct toml_value *sidecars,
		     struct bf_manifest *m, struct bf_error *err, int *line)
{
	const struct toml_kv *flag = sidecars ? toml_table_get(sidecars, "git_gate") : NULL;
	int r;

	if (!git) {
		if (m->git_gate) {
			*line = flag->line;
			return bf_error_set(err, EINVAL, "git_gate needs a [git] table with the repo "
					    "it serves (bottlefs-manifest(5))");
		}
		return 0;
	}
	if (flag && !m->git_gate) {
		*line = flag->line;
		return bf_error_set(err, EINVAL, "git_gate = false contradicts the [git] table");
	}
	if ((r = get_string(git, "repo", &m->git_repo, err, line)) < 0 ||
	    (r = get_string_array(git, "push", &m->git_push, &m->git_push_len, err, line)) < 0 ||
	    (r = get_string_array(git, "fetch", &m->git_fetch, &m->git_fetch_len, err, line)) < 0 ||
	    (r = get_bool(git, "force", &m->git_force, err, line)) < 0)
		return r;
	if (!m->git_repo)
		return bf_error_set(err, EINVAL, "[git] needs repo, the host repository to serve");
	if (m->git_repo[0] != '/' || control_byte(m->git_repo)) {
		*line = toml_table_get(git, "repo")->line;
		return bf_error_set(err, EINVAL, "[git] repo must be an absolute path without control bytes");
	}
	if (m->git_push_len > 32 || m->git_fetch_len > 32) {
		*line = toml_table_get(git, m->git_push_len > 32 ? "push" : "fetch")->line;
		return bf_error_set(err, EINVAL, "[git] push and fetch may hold at most 32 patterns each");
	}
	if ((r = check_git_patterns(git, "push", m->git_push, m->git_push_len, err, line)) < 0 ||
	    (r = check_git_patterns(git, "fetch", m->git_fetch, m->git_fetch_len, err, line)) < 0)
		return r;
	if (!toml_table_get(git, "fetch")) {
		/* Every branch of the host's, by default. */
		m->git_fetch = calloc(1, sizeof(char *));
		if (!m->git_fetch || dup_string("*", &m->git_fetch[0], err) < 0)
			return bf_error_set(err, ENOMEM, "out of memory");
		m->git_fetch_len = 1;
	}
	m->git_gate = true;
	return 0;
}

static int validate(const struct toml_value *root, struct bf_manifest *m,
		    struct bf_error *err, int *line)
{
	const struct toml_value *env, *ws, *net, *limits, *sidecars, *seccomp, *git;
	const struct toml_kv *kv;
	size_t i;
	int r;

	r = check_known_keys(root, "", err, line);
	if (r < 0)
		return r;
	if (!toml_table_get(root, "agent"))
		return bf_error_set(err, EINVAL, "missing required key \"agent\"");
	if ((r = get_string(root, "agent", &m->agent, err, line)) < 0 ||
	    (r = get_string(root, "backend", &m->backend, err, line)) < 0 ||
	    (r = get_string(root, "image", &m->image, err, line)) < 0 ||
	    (r = get_string(root, "kernel", &m->kernel, err, line)) < 0 ||
	    (r = get_string(root, "user", &m->user, err, line)) < 0 ||
	    (r = get_string(root, "workdir", &m->workdir, err, line)) < 0 ||
	    (r = get_string_array(root, "command", &m->command, &m->command_len, err, line)) < 0 ||
	    (r = get_string_array(root, "path_prepend", &m->path_prepend, &m->path_prepend_len, err, line)) < 0 ||
	    (r = get_integer(root, "stop_timeout", 0, 3600, &m->stop_timeout, err, line)) < 0)
		return r;
	if (m->backend && !bf_backend_find(m->backend)) {
		*line = toml_table_get(root, "backend")->line;
		return bf_error_set(err, EINVAL, "unknown backend \"%s\" (known: %s)", m->backend,
				    bf_backend_names());
	}
	if ((r = check_user(root, m->user, err, line)) < 0 ||
	    (r = check_line_strings(root, m, err, line)) < 0)
		return r;
	for (i = 0; i < m->path_prepend_len; i++) {
		const char *d = m->path_prepend[i];

		if (d[0] != '/' || strchr(d, ':') || control_byte(d)) {
			*line = toml_table_get(root, "path_prepend")->line;
			return bf_error_set(err, EINVAL, "path_prepend: \"%s\" must be an absolute directory without ':' or control bytes", d);
		}
	}
	if (m->workdir[0] != '/') {
		*line = toml_table_get(root, "workdir")->line;
		return bf_error_set(err, EINVAL, "workdir must be an absolute path");
	}
	if (m->kernel && m->kernel[0] != '/') {
		*line = toml_table_get(root, "kernel")->line;
		return bf_error_set(err, EINVAL, "kernel must be an absolute directory path (as scripts/vm-kernel.sh makes one)");
	}
	kv = toml_table_get(root, "command");
	if (kv && (m->command_len == 0 || !m->command[0][0])) {
		*line = kv->line;
		return bf_error_set(err, EINVAL, "command must name a program");
	}
	if ((r = get_table(root, "env", true, &env, err, line)) < 0 ||
	    (r = get_table(root, "workspace", false, &ws, err, line)) < 0 ||
	    (r = get_table(root, "network", false, &net, err, line)) < 0 ||
	    (r = get_table(root, "limits", false, &limits, err, line)) < 0 ||
	    (r = get_table(root, "sidecars", false, &sidecars, err, line)) < 0 ||
	    (r = get_table(root, "seccomp", false, &seccomp, err, line)) < 0 ||
	    (r = get_table(root, "git", false, &git, err, line)) < 0)
		return r;
	if ((r = parse_seccomp(seccomp, m, err, line)) < 0 ||
	    (r = parse_mounts(root, m, err, line)) < 0)
		return r;
	if ((r = parse_env(env, m, err, line)) < 0 ||
	    (r = parse_workspace(ws, m, err, line)) < 0 ||
	    (r = parse_limits(limits, m, err, line)) < 0)
		return r;
	if (sidecars && ((r = get_bool(sidecars, "git_gate", &m->git_gate, err, line)) < 0 ||
			 (r = get_bool(sidecars, "supervise", &m->supervise, err, line)) < 0))
		return r;
	if ((r = parse_git(git, sidecars, m, err, line)) < 0)
		return r;
	if (net && ((r = get_string_array(net, "allow", &m->allow, &m->allow_len, err, line)) < 0 ||
		    (r = get_integer(net, "idle_timeout", 1, 86400, &m->idle_timeout, err, line)) < 0 ||
		    (r = get_integer(net, "max_connections", 1, 1024, &m->max_connections, err, line)) < 0 ||
		    (r = get_bool(net, "ask", &m->ask, err, line)) < 0))
		return r;
	for (i = 0; i < m->allow_len; i++) {
		if (bf_allow_rule_check(m->allow[i], err) < 0) {
			*line = toml_table_get(net, "allow")->line;
			return -EINVAL;
		}
	}
	return 0;
}

static int set_defaults(struct bf_manifest *m, struct bf_error *err)
{
	size_t i;

	m->stop_timeout = -1;   /* unset: the mount's stop_timeout= holds */
	m->idle_timeout = BF_EGRESS_IDLE_DEFAULT;
	m->max_connections = BF_EGRESS_CONNECTIONS_DEFAULT;
	if (dup_string("host", &m->image, err) < 0 || dup_string("agent", &m->user, err) < 0 ||
	    dup_string("/work", &m->workdir, err) < 0)
		return -ENOMEM;
	m->command = calloc(3, sizeof(char *));
	if (!m->command)
		return bf_error_set(err, ENOMEM, "out of memory");
	for (i = 0; i < 2; i++)
		if (dup_string(default_command[i], &m->command[i], err) < 0)
			return -ENOMEM;
	m->command_len = 2;
	return 0;
}

int bf_manifest_parse(const char *text, size_t len, struct bf_manifest *out,
		      struct bf_error *err, int *line)
{
	struct toml_value *root;
	int r;

	*line = 0;
	memset(out, 0, sizeof(*out));
	if (len > BF_MANIFEST_MAX)
		return bf_error_set(err, EFBIG, "manifest is larger than %d bytes", BF_MANIFEST_MAX);
	root = toml_parse(text, len, err, line);
	if (!root)
		return -err->code;
	r = set_defaults(out, err);
	if (r == 0)
		r = validate(root, out, err, line);
	toml_free(root);
	if (r < 0)
		bf_manifest_free(out);
	return r;
}

void bf_manifest_free(struct bf_manifest *m)
{
	size_t i;

	free(m->agent);
	free(m->backend);
	free(m->image);
	free(m->kernel);
	free(m->user);
	free_strv(m->command, m->command_len);
	free(m->workdir);
	for (i = 0; i < m->env_len; i++) {
		free(m->env[i].name);
		free(m->env[i].value);
	}
	free(m->env);
	free(m->workspace_path);
	free_strv(m->allow, m->allow_len);
	free_strv(m->seccomp_allow, m->seccomp_allow_len);
	free_strv(m->path_prepend, m->path_prepend_len);
	free(m->git_repo);
	free_strv(m->git_push, m->git_push_len);
	free_strv(m->git_fetch, m->git_fetch_len);
	for (i = 0; i < m->mounts_len; i++) {
		free(m->mounts[i].source);
		free(m->mounts[i].target);
	}
	free(m->mounts);
	memset(m, 0, sizeof(*m));
}
