#include "guest_user.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bottle.h"
#include "cleanup.h"

/* The first id given to a guest user the image does not know. */
#define AGENT_UID 1000

/* Looks `user` up in a passwd file: 1 found, 0 not, -errno. */
static int lookup_user(const char *passwd, const char *user, struct bf_guest_user *out,
		       bool *uid_taken)
{
	cleanup_fclose FILE *f = fopen(passwd, "re");
	char line[1024];
	int found = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *name = strtok_r(line, ":", &save);
		char *uid, *gid;

		if (!name || !strtok_r(NULL, ":", &save) || !(uid = strtok_r(NULL, ":", &save)) ||
		    !(gid = strtok_r(NULL, ":", &save)))
			continue;
		if (uid_taken && atol(uid) >= 0 && atol(uid) < 65536)
			uid_taken[atol(uid)] = true;
		if (!found && strcmp(name, user) == 0) {
			out->uid = (uid_t)atol(uid);
			out->gid = (gid_t)atol(gid);
			found = 1;
		}
	}
	return found;
}

static int append_line(const char *path, const char *line)
{
	FILE *f = fopen(path, "ae");
	int r = 0;

	if (!f)
		return -errno;
	if (fputs(line, f) < 0)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

static bool numeric(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int bf_guest_user_resolve(const struct bf_manifest *m, const char *etc_dir, bool writable,
			  struct bf_guest_user *user, struct bf_error *err)
{
	const char *name = m->user;
	/* Per call: starts resolve users in parallel. */
	cleanup_free bool *taken = NULL;
	char passwd[PATH_MAX], line[512], home[64];
	int r;

	if (numeric(name)) {
		user->uid = user->gid = (uid_t)atol(name);
		return 0;
	}
	if (strcmp(name, "root") == 0) {
		user->uid = user->gid = 0;
		return 0;
	}
	snprintf(passwd, sizeof(passwd), "%s/passwd", etc_dir);
	taken = calloc(65536, sizeof(*taken));
	if (!taken)
		return bf_error_set(err, ENOMEM, "out of memory");
	r = lookup_user(passwd, name, user, taken);
	if (r < 0)
		return bf_error_set(err, -r, "reading %s: %s", passwd, strerror(-r));
	if (r == 1)
		return 0;
	if (!writable)
		return bf_error_set(err, EINVAL, "user \"%s\" is not in the image's /etc/passwd", name);
	user->uid = AGENT_UID;
	while (user->uid < 65000 && taken[user->uid])
		user->uid++;
	user->gid = user->uid;
	bf_guest_home(m, home, sizeof(home));
	snprintf(line, sizeof(line), "%s:x:%u:%u:bottlefs guest:%s:/bin/sh\n", name,
		 (unsigned)user->uid, (unsigned)user->gid, home);
	r = append_line(passwd, line);
	if (r == 0) {
		snprintf(passwd, sizeof(passwd), "%s/group", etc_dir);
		snprintf(line, sizeof(line), "%s:x:%u:\n", name, (unsigned)user->gid);
		r = append_line(passwd, line);
	}
	return r < 0 ? bf_error_set(err, -r, "adding user %s: %s", name, strerror(-r)) : 0;
}
