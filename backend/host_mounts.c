/* The state directory never reaches a guest through [[mount]]. */
#include "host_mounts.h"

#include <bsd/string.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

bool bf_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strcmp(dir, "/") == 0 ||
	       (strncmp(path, dir, n) == 0 && (path[n] == '/' || !path[n]));
}

bool bf_state_dir_of(const char *run_dir, char *out)
{
	char state[PATH_MAX], *cut;

	strlcpy(state, run_dir, sizeof(state));
	for (int i = 0; i < 2 && (cut = strrchr(state, '/')); i++)
		*cut = '\0';
	return realpath(state, out) != NULL;
}

int bf_check_mount_sources(const struct bf_manifest *m, const char *run_dir,
			   struct bf_error *err)
{
	char real[PATH_MAX], state[PATH_MAX];

	if (!m->mounts_len || !bf_state_dir_of(run_dir, state))
		return 0;
	for (size_t i = 0; i < m->mounts_len; i++)
		if (realpath(m->mounts[i].source, real) &&
		    (bf_path_within(real, state) || bf_path_within(state, real)))
			return bf_error_set(err, EPERM, "[[mount]] source %s holds or is in the state directory",
					    m->mounts[i].source);
	return 0;
}
