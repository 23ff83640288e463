#include "backends.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <bsd/string.h>

#include "bottle.h"
#include "cleanup.h"

static const struct bf_backend *const all_backends[] = {
	&bf_backend_oci, &bf_backend_docker, &bf_backend_microvm, &bf_backend_smolvm, NULL,
};

const struct bf_backend *bf_backend_find(const char *name)
{
	size_t i;

	for (i = 0; all_backends[i]; i++)
		if (strcmp(all_backends[i]->name, name) == 0)
			return all_backends[i];
	return NULL;
}

/* Derived from the table once: a new backend is one line above. */
static char names[256];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void join_names(void)
{
	size_t i;

	for (i = 0; all_backends[i]; i++) {
		if (i)
			strlcat(names, ", ", sizeof(names));
		strlcat(names, all_backends[i]->name, sizeof(names));
	}
}

const char *bf_backend_names(void)
{
	pthread_once(&names_once, join_names);
	return names;
}

const struct bf_helper_entry *bf_backend_helper(const char *argv0)
{
	const struct bf_helper_entry *h;
	size_t i;

	for (i = 0; all_backends[i]; i++)
		for (h = all_backends[i]->helpers; h && h->name; h++)
			if (strcmp(h->name, argv0) == 0)
				return h;
	return NULL;
}

void bf_run_describe(const struct bf_backend *backend, const struct bf_run *run, char *out,
		     size_t len)
{
	if (backend->run_describe)
		backend->run_describe(run, out, len);
	else
		snprintf(out, len, "guest %d", (int)run->pid);
}

const struct bf_backend *const *bf_backend_all(void)
{
	return all_backends;
}

/* The daemon may run with a minimal PATH (mount(8) helpers often do), so
 * the standard system directories are searched too. */
int bf_probe_unix_socket(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	cleanup_close int fd = -1;

	if (strlcpy(addr.sun_path, path, sizeof(addr.sun_path)) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -errno;
	return 0;
}
