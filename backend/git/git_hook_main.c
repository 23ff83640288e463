/* bottlefs-git-hook: git-gate's update hook, run by the mirror's
 * receive-pack once per ref a push offers:
 *
 *   update REF OLD NEW
 *
 * with BOTTLEFS_GIT_PUSH (the [git] push patterns, space-separated),
 * BOTTLEFS_GIT_FORCE (1: non-fast-forwards and deletions too) and
 * BOTTLEFS_GIT_VERDICTS (the fd its verdict line goes to) from the
 * daemon. A refusal is one line on stderr, which the guest's git shows
 * as "remote: ...", and a non-zero exit, which refuses that ref alone. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bsd/string.h>

#include "git_refs.h"

#define MAX_PATTERNS 32

static bool all_zero(const char *sha)
{
	return sha[0] && strspn(sha, "0") == strlen(sha);
}

static bool hex_id(const char *sha)
{
	size_t n = strlen(sha);

	return (n == 40 || n == 64) && strspn(sha, "0123456789abcdef") == n;
}

static int verdict_fd(void)
{
	const char *v = getenv("BOTTLEFS_GIT_VERDICTS");

	return v && strcmp(v, "3") == 0 ? 3 : -1;
}

static int refuse(const char *ref, const char *old, const char *new, const char *reason)
{
	int fd = verdict_fd();

	fprintf(stderr, "bottlefs: %s: %s\n", ref, reason);
	if (fd >= 0)
		dprintf(fd, "refused %s %s %s %s\n", ref, old, new, reason);
	return 1;
}

/* git merge-base --is-ancestor OLD NEW: 0 yes, 1 no, else an error. */
static int is_ancestor(const char *old, const char *new)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execlp("git", "git", "merge-base", "--is-ancestor", old, new, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
	const char *ref, *old, *new, *force = getenv("BOTTLEFS_GIT_FORCE");
	const char *env_push = getenv("BOTTLEFS_GIT_PUSH");
	char patterns[BF_GIT_PATTERN_MAX * (MAX_PATTERNS + 1)];
	char *list[MAX_PATTERNS], *save = NULL, *p;
	size_t n = 0;
	int fd;

	if (argc != 4 || !env_push || strlcpy(patterns, env_push, sizeof(patterns)) >= sizeof(patterns)) {
		fputs("bottlefs-git-hook: run by git as an update hook\n", stderr);
		return 2;
	}
	ref = argv[1];
	old = argv[2];
	new = argv[3];
	if (!hex_id(old) || !hex_id(new))
		return refuse(ref, old, new, "not an object id");
	for (p = strtok_r(patterns, " ", &save); p && n < MAX_PATTERNS; p = strtok_r(NULL, " ", &save))
		list[n++] = p;
	if (!bf_git_patterns_match(list, n, ref)) {
		char reason[600];
		int at = snprintf(reason, sizeof(reason), "not in [git] push (");

		for (size_t i = 0; i < n && at < (int)sizeof(reason) - 2; i++)
			at += snprintf(reason + at, sizeof(reason) - (size_t)at, "%s%s", i ? " " : "", list[i]);
		if (!n)
			snprintf(reason, sizeof(reason), "not in [git] push (which is empty)");
		else
			strncat(reason, ")", sizeof(reason) - strlen(reason) - 1);
		return refuse(ref, old, new, reason);
	}
	if (!force || strcmp(force, "1") != 0) {
		if (all_zero(new))
			return refuse(ref, old, new, "deleting a ref needs [git] force = true");
		if (!all_zero(old)) {
			int r = is_ancestor(old, new);

			if (r == 1)
				return refuse(ref, old, new, "not a fast-forward (a force-push needs [git] force = true)");
			if (r != 0)
				return refuse(ref, old, new, "cannot tell whether this is a fast-forward");
		}
	}
	fd = verdict_fd();
	if (fd >= 0)
		dprintf(fd, "ok %s %s %s\n", ref, old, new);
	return 0;
}
