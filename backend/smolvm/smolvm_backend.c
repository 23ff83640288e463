/* The seeds' smolvm CLI, for hosts that have it. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "../backends.h"
#include "../manifest.h"

static int smolvm_preflight(char *about, size_t len, struct bf_error *err)
{
	(void)about;
	(void)len;
	char path[PATH_MAX];

	if (bf_find_program("smolvm", path, sizeof(path)) < 0)
		return bf_error_set(err, ENOENT, "smolvm not found on PATH");
	return 0;
}

static int smolvm_check_manifest(const struct bf_manifest *m, struct bf_error *err)
{
	if (strcmp(m->image, "host") == 0)
		return bf_error_set(err, EINVAL, "smolvm needs an image reference, not \"host\"");
	return 0;
}

/* As in the seeds: the guest dials the bundle address on its subnet. */
static const char *smolvm_guest_sidecar_host(const char *proxy_ip)
{
	return proxy_ip;
}

const struct bf_backend bf_backend_smolvm = {
	.name = "smolvm",
	.preflight = smolvm_preflight,
	.check_manifest = smolvm_check_manifest,
	.guest_sidecar_host = smolvm_guest_sidecar_host,
};
