#include "fs_path.h"

#include <stdbool.h>
#include <string.h>
#include <bsd/string.h>

const struct fs_bottle_file fs_bottle_files[] = {
	{ "manifest", BF_FILE_MANIFEST, 0644 },
	{ "plan.toml", BF_FILE_PLAN, 0444 },
	{ "env", BF_FILE_ENV, 0444 },
	{ "network.yaml", BF_FILE_NETWORK, 0444 },
	{ "status", BF_FILE_STATUS, 0444 },
	{ "ctl", BF_FILE_CTL, 0644 },
	{ "log", BF_FILE_LOG, 0444 },
	{ "allow", BF_FILE_ALLOW, 0644 },
	{ "egress", BF_FILE_EGRESS, 0444 },
	{ NULL, 0, 0 },
};

static int next_component(const char **p, char *out, size_t len);

const struct fs_session_file_def fs_session_files[] = {
	{ "cmd", SESSION_CMD, 0644 },
	{ "stdin", SESSION_STDIN, 0200 },
	{ "stdout", SESSION_STDOUT, 0444 },
	{ "stderr", SESSION_STDERR, 0444 },
	{ "status", SESSION_STATUS, 0444 },
	{ "wait", SESSION_WAIT, 0444 },
	{ "ctl", SESSION_CTL, 0200 },
	{ NULL, 0, 0 },
};

/* NAME/exec/... : the session part of the tree. */
static void parse_exec(const char *p, struct fs_path *out)
{
	char file[16];
	size_t i;

	if (*p == '\0') {
		out->node = NODE_EXEC_DIR;
		return;
	}
	if (!next_component(&p, out->session, sizeof(out->session)))
		return;
	if (*p == '\0') {
		out->node = strcmp(out->session, "run") == 0 ? NODE_EXEC_RUN : NODE_SESSION_DIR;
		return;
	}
	if (!next_component(&p, file, sizeof(file)) || *p != '\0')
		return;
	for (i = 0; fs_session_files[i].name; i++) {
		if (strcmp(file, fs_session_files[i].name) == 0) {
			out->node = NODE_SESSION_FILE;
			out->session_file = fs_session_files[i].file;
			out->mode = fs_session_files[i].mode;
			return;
		}
	}
}

/* Copies the component at *p into out and advances past it; false when
 * it does not fit. */
static int next_component(const char **p, char *out, size_t len)
{
	const char *start = *p, *slash = strchr(start, '/');
	size_t n = slash ? (size_t)(slash - start) : strlen(start);

	if (n == 0 || n >= len)
		return 0;
	memcpy(out, start, n);
	out[n] = '\0';
	*p = slash ? slash + 1 : start + n;
	return 1;
}

/* NAME/git, NAME/git/log, NAME/git/refs, NAME/git/mirror.git[/...]. */
static void parse_git(const char *name, const char *rest, struct fs_path *out)
{
	strlcpy(out->name, name, sizeof(out->name));
	if (*rest == '\0') {
		out->node = NODE_GIT_DIR;
	} else if (strcmp(rest, "log") == 0 || strcmp(rest, "refs") == 0) {
		out->node = NODE_BOTTLE_FILE;
		out->file = rest[0] == 'l' ? BF_FILE_GIT_LOG : BF_FILE_GIT_REFS;
		out->mode = 0444;
	} else if (strncmp(rest, "mirror.git", 10) == 0 && (rest[10] == '\0' || rest[10] == '/')) {
		out->node = NODE_WORKSPACE;
		out->view = VIEW_GIT_MIRROR;
		out->workspace_rel = rest[10] ? rest + 11 : rest + 10;
	} else {
		out->name[0] = '\0';
	}
}

/* NAME/requests, NAME/requests/N, NAME/requests/N/{question,answer}. */
static void parse_request(const char *name, const char *rest, struct fs_path *out)
{
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);

	strlcpy(out->name, name, sizeof(out->name));
	if (*rest == '\0') {
		out->node = NODE_REQUESTS_DIR;
		return;
	}
	if (n == 0 || n > 20 || strspn(rest, "0123456789") != n) {
		out->name[0] = '\0';
		return;
	}
	memcpy(out->key, rest, n);
	out->key[n] = '\0';
	if (!slash)
		out->node = NODE_REQUEST_DIR;
	else if (strcmp(slash + 1, "question") == 0)
		out->node = NODE_REQUEST_QUESTION;
	else if (strcmp(slash + 1, "answer") == 0)
		out->node = NODE_REQUEST_ANSWER;
	else
		out->name[0] = '\0';
}

void fs_path_parse(const char *path, struct fs_path *out)
{
	char first[BF_NAME_MAX + 1], second[BF_NAME_MAX + 1];
	const char *p = path;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->node = NODE_NONE;
	if (*p == '/')
		p++;
	if (*p == '\0') {
		out->node = NODE_ROOT;
		return;
	}
	if (!next_component(&p, first, sizeof(first)))
		return;
	if (*p == '\0') {
		if (strcmp(first, "new") == 0)
			out->node = NODE_NEW_DIR;
		else if (strcmp(first, "errors") == 0)
			out->node = NODE_ERRORS;
		else if (strcmp(first, "backends") == 0)
			out->node = NODE_BACKENDS;
		else if (strcmp(first, "cleanup") == 0)
			out->node = NODE_CLEANUP;
		else if (strcmp(first, "requests.log") == 0) {
			out->node = NODE_REQUESTS_LOG;
			out->file = BF_FILE_REQUESTS_LOG;
		}
		else {
			out->node = NODE_BOTTLE_DIR;
			strlcpy(out->name, first, sizeof(out->name));
		}
		return;
	}
	if (!next_component(&p, second, sizeof(second)))
		return;
	if (strcmp(second, "exec") == 0 && strcmp(first, "new") != 0) {
		strlcpy(out->name, first, sizeof(out->name));
		parse_exec(p, out);
		if (out->node == NODE_NONE)
			out->name[0] = '\0';
		return;
	}
	if (strcmp(second, "workspace") == 0 && strcmp(first, "new") != 0 &&
	    strcmp(first, "errors") != 0 && strcmp(first, "backends") != 0 &&
	    strcmp(first, "cleanup") != 0) {
		out->node = NODE_WORKSPACE;
		out->view = VIEW_WORKSPACE;
		strlcpy(out->name, first, sizeof(out->name));
		out->workspace_rel = p;
		return;
	}
	if ((strcmp(second, "check") == 0 || strcmp(second, "pending") == 0) &&
	    strcmp(first, "new") != 0 && strcmp(first, "errors") != 0 &&
	    strcmp(first, "backends") != 0 && strcmp(first, "cleanup") != 0) {
		bool check = second[0] == 'c';

		if (strchr(p, '/') || strlen(p) >= sizeof(out->key))
			return;
		strlcpy(out->name, first, sizeof(out->name));
		strlcpy(out->key, p, sizeof(out->key));
		out->node = *p ? (check ? NODE_CHECK_FILE : NODE_PENDING_FILE)
			       : (check ? NODE_CHECK_DIR : NODE_PENDING_DIR);
		return;
	}
	if (strcmp(second, "requests") == 0 && strcmp(first, "new") != 0 &&
	    strcmp(first, "errors") != 0 && strcmp(first, "backends") != 0 &&
	    strcmp(first, "cleanup") != 0 && strcmp(first, "requests.log") != 0) {
		parse_request(first, p, out);
		return;
	}
	if (strcmp(second, "git") == 0 && strcmp(first, "new") != 0 &&
	    strcmp(first, "errors") != 0 && strcmp(first, "backends") != 0 &&
	    strcmp(first, "cleanup") != 0) {
		parse_git(first, p, out);
		return;
	}
	if (*p != '\0')
		return;
	if (strcmp(first, "new") == 0) {
		out->node = NODE_NEW_FILE;
		strlcpy(out->name, second, sizeof(out->name));
		return;
	}
	if (strcmp(first, "errors") == 0 || strcmp(first, "backends") == 0 ||
	    strcmp(first, "cleanup") == 0)
		return;
	for (i = 0; fs_bottle_files[i].name; i++) {
		if (strcmp(second, fs_bottle_files[i].name) == 0) {
			out->node = NODE_BOTTLE_FILE;
			strlcpy(out->name, first, sizeof(out->name));
			out->file = fs_bottle_files[i].file;
			out->mode = fs_bottle_files[i].mode;
			return;
		}
	}
}
