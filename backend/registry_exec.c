/* The exec/ directory of each bottle: sessions live in the bottle, are
 * found under the registry lock and used outside it through a reference. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <bsd/stdlib.h>

#include "ctl_msg.h"
#include "registry_internal.h"

static bool session_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	/* "run" is the one-shot file. */
	if (n == 0 || n > 63 || name[0] == '.' || name[0] == '-' || strcmp(name, "run") == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

static size_t find_session_locked(struct bf_bottle *b, const char *session)
{
	size_t i;

	for (i = 0; i < b->n_sessions; i++)
		if (strcmp(bf_exec_name(b->sessions[i]), session) == 0)
			return i;
	return SIZE_MAX;
}

/* Output is kept in unlinked files on the state directory's filesystem;
 * made before the registry lock is taken, since that is disk I/O. */
static int new_session(struct bf_registry *reg, const char *session, bool combined,
		       struct bf_exec_session **out, struct bf_error *err)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/run", reg->cfg.state_dir);
	return bf_exec_new(session, dir, combined, out, err);
}

int bf_registry_exec_create(struct bf_registry *reg, const char *name, const char *session,
			    struct bf_error *err)
{
	struct bf_exec_session *s, **v;
	struct bf_bottle *b;
	int r = 0;

	if (!session_name_valid(session)) {
		r = bf_error_set(err, EINVAL, "bad session name \"%s\": use 1-63 of [A-Za-z0-9_.-]", session);
		bf_registry_report(reg, name, "exec: %s", err->msg);
		return r;
	}
	r = new_session(reg, session, false, &s, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	if (!b)
		r = bf_error_set(err, ENOENT, "no bottle \"%s\"", name);
	else if (find_session_locked(b, session) != SIZE_MAX)
		r = bf_error_set(err, EEXIST, "session %s exists", session);
	else if (!(v = reallocarray(b->sessions, b->n_sessions + 1, sizeof(*v))))
		r = bf_error_set(err, ENOMEM, "out of memory");
	else {
		b->sessions = v;
		b->sessions[b->n_sessions++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&reg->lock);
	if (s)
		bf_exec_unref(s);
	return r;
}

struct bf_exec_session *bf_registry_exec_get(struct bf_registry *reg, const char *name,
					     const char *session)
{
	struct bf_exec_session *s = NULL;
	struct bf_bottle *b;
	size_t i;

	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	if (b && (i = find_session_locked(b, session)) != SIZE_MAX) {
		s = b->sessions[i];
		bf_exec_ref(s);
	}
	pthread_mutex_unlock(&reg->lock);
	return s;
}

int bf_registry_exec_names(struct bf_registry *reg, const char *name, char ***names)
{
	struct bf_bottle *b;
	char **v = NULL;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	if (!b)
		r = -ENOENT;
	else if (!(v = calloc(b->n_sessions + 1, sizeof(*v))))
		r = -ENOMEM;
	for (i = 0; r == 0 && i < b->n_sessions; i++) {
		v[i] = strdup(bf_exec_name(b->sessions[i]));
		if (!v[i])
			r = -ENOMEM;
	}
	pthread_mutex_unlock(&reg->lock);
	if (r < 0) {
		bf_strv_free(v);
		return r;
	}
	*names = v;
	return 0;
}

/* Strips the newline `echo` adds, so `cmd` reads back as written. */
static char *command_text(const char *cmd, size_t len)
{
	while (len && (cmd[len - 1] == '\n' || cmd[len - 1] == '\r'))
		len--;
	return strndup(cmd, len);
}

static char **strv_dup(char *const *v, size_t n)
{
	char **copy = calloc(n + 1, sizeof(*copy));
	size_t i;

	for (i = 0; copy && i < n; i++) {
		copy[i] = strdup(v[i]);
		if (!copy[i]) {
			bf_strv_free(copy);
			return NULL;
		}
	}
	return copy;
}

/* What the command runs with, copied while the lock is held. */
struct exec_copy {
	struct bf_exec_request req;
	struct bf_run run;
	char *workdir;
	const struct bf_backend *backend;
};

static void exec_copy_free(struct exec_copy *c)
{
	bf_strv_free(c->req.env);
	bf_strv_free(c->req.seccomp_allow);
	free(c->workdir);
}

static int exec_copy_locked(const struct bf_bottle *b, struct exec_copy *c, struct bf_error *err)
{
	memset(c, 0, sizeof(*c));
	c->run = b->meta.run;
	c->backend = b->backend;
	c->req.run = &c->run;
	c->req.seccomp_allow_len = b->manifest.seccomp_allow_len;
	c->req.env = strv_dup(b->env, b->env_len);
	c->req.seccomp_allow = strv_dup(b->manifest.seccomp_allow, b->manifest.seccomp_allow_len);
	c->workdir = strdup(b->manifest.workdir);
	c->req.workdir = c->workdir;
	if (!c->req.env || !c->req.seccomp_allow || !c->workdir) {
		exec_copy_free(c);
		return bf_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int bf_registry_exec_start(struct bf_registry *reg, const char *name, struct bf_exec_session *s,
			   const char *cmd, size_t len, struct bf_error *err)
{
	struct exec_copy copy;
	struct bf_bottle *b;
	char *text;
	int r;

	if (len == 0 || memchr(cmd, '\0', len))
		return bf_error_set(err, EINVAL, "a command is text without NUL bytes");
	text = command_text(cmd, len);
	if (!text)
		return bf_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	if (!b)
		r = bf_error_set(err, ENOENT, "no bottle \"%s\"", name);
	else if (b->meta.state != BF_STATE_RUNNING)
		r = bf_error_set(err, ESRCH, "bottle is %s: exec needs a running bottle",
				 bf_state_name(b->meta.state));
	else if (!b->backend->exec)
		r = bf_error_set(err, ENOTSUP, "the %s backend cannot exec in this version",
				 b->backend->name);
	else
		r = exec_copy_locked(b, &copy, err);
	pthread_mutex_unlock(&reg->lock);
	/* Outside the lock: joining the guest takes milliseconds, and a
	 * slow backend must not freeze the tree. A guest that ended since
	 * is refused by the backend's own check of the recorded pid. */
	if (r == 0) {
		r = copy.backend->exec(&copy.req, s, text, err);
		exec_copy_free(&copy);
	}
	free(text);
	if (r < 0)
		bf_registry_report(reg, name, "exec %s: %s", bf_exec_name(s), err->msg);
	return r;
}

int bf_registry_exec_remove(struct bf_registry *reg, const char *name, const char *session,
			    struct bf_error *err)
{
	struct bf_exec_session *s;
	struct bf_bottle *b;
	size_t i;

	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	i = b ? find_session_locked(b, session) : SIZE_MAX;
	if (i == SIZE_MAX) {
		pthread_mutex_unlock(&reg->lock);
		return bf_error_set(err, ENOENT, "no session %s", session);
	}
	s = b->sessions[i];
	memmove(&b->sessions[i], &b->sessions[i + 1], (b->n_sessions - i - 1) * sizeof(*b->sessions));
	b->n_sessions--;
	pthread_mutex_unlock(&reg->lock);
	bf_exec_kill_wait(s);
	bf_exec_unref(s);
	return 0;
}

struct bf_exec_session *bf_registry_exec_oneshot(struct bf_registry *reg, const char *name,
						 struct bf_error *err)
{
	struct bf_exec_session *s = NULL;
	struct bf_bottle *b;

	if (new_session(reg, "run", true, &s, err) < 0)
		return NULL;
	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	pthread_mutex_unlock(&reg->lock);
	if (!b) {
		bf_error_set(err, ENOENT, "no bottle \"%s\"", name);
		bf_exec_unref(s);
		return NULL;
	}
	return s;
}

void bf_registry_exec_take_all_locked(struct bf_bottle *b, struct bf_exec_session ***sessions,
				      size_t *n)
{
	*sessions = b->sessions;
	*n = b->n_sessions;
	b->sessions = NULL;
	b->n_sessions = 0;
}

void bf_registry_exec_kill_all(struct bf_exec_session **sessions, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		bf_exec_kill_wait(sessions[i]);
		bf_exec_unref(sessions[i]);
	}
	free(sessions);
}

enum { EXEC_KILL, EXEC_PTY, EXEC_RESIZE, EXEC_EOF };

int bf_registry_exec_ctl(struct bf_registry *reg, const char *name, struct bf_exec_session *s,
			 const char *msg, size_t len, struct bf_error *err)
{
	static const struct bf_ctl_cmd table[] = {
		[EXEC_KILL] = { "kill", 0, 1 },
		[EXEC_PTY] = { "pty", 0, 1 },
		[EXEC_RESIZE] = { "resize", 1, 1 },
		[EXEC_EOF] = { "eof", 0, 0 },
	};
	unsigned cols = 80, rows = 24;
	struct bf_ctl_msg m = { 0 };
	int sig = SIGKILL, r;

	r = bf_ctl_parse(msg, len, table, sizeof(table) / sizeof(table[0]),
			 "kill [SIGNAL], pty [COLSxROWS], resize COLSxROWS, eof", &m, err);
	if (r == 0 && m.cmd == EXEC_KILL && m.argc == 2 && (sig = bf_signal_parse(m.words[1])) < 0)
		r = bf_error_set(err, EINVAL, "unknown signal \"%.32s\"", m.words[1]);
	if (r == 0 && (m.cmd == EXEC_PTY || m.cmd == EXEC_RESIZE) && m.argc == 2 &&
	    bf_term_size_parse(m.words[1], &cols, &rows) < 0)
		r = bf_error_set(err, EINVAL, "bad terminal size \"%.32s\": COLSxROWS, 1 to %d each",
				 m.words[1], BF_TERM_SIZE_MAX);
	if (r == 0) {
		switch (m.cmd) {
		case EXEC_KILL:
			r = bf_exec_signal(s, sig, err);
			break;
		case EXEC_PTY:
			r = bf_exec_set_pty(s, cols, rows, err);
			break;
		case EXEC_RESIZE:
			r = bf_exec_resize(s, cols, rows, err);
			break;
		default:
			r = bf_exec_eof(s, err);
		}
	}
	if (r < 0 && (m.cmd != EXEC_KILL || r == -EINVAL))
		bf_registry_report(reg, name, "exec %s ctl: %s", bf_exec_name(s), err->msg);
	return r;
}
