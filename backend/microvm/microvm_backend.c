/* QEMU microvm guests; the sidecars sit on the per-bottle subnet. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "../backends.h"
#include "../manifest.h"

static int microvm_preflight(char *about, size_t len, struct bf_error *err)
{
	(void)about;
	(void)len;
	char path[PATH_MAX];

	if (bf_find_program("qemu-system-x86_64", path, sizeof(path)) < 0)
		return bf_error_set(err, ENOENT, "qemu-system-x86_64 not found (apt-get install qemu-system-x86)");
	return 0;
}

static int microvm_check_manifest(const struct bf_manifest *m, struct bf_error *err)
{
	if (m->image[0] != '/')
		return bf_error_set(err, EINVAL, "microvm image must be an absolute path to a root filesystem or disk image");
	return 0;
}

/* The restricted user-mode network forwards only the sidecar ports on
 * the subnet's proxy address. */
static const char *microvm_guest_sidecar_host(const char *proxy_ip)
{
	return proxy_ip;
}

const struct bf_backend bf_backend_microvm = {
	.name = "microvm",
	.preflight = microvm_preflight,
	.check_manifest = microvm_check_manifest,
	.guest_sidecar_host = microvm_guest_sidecar_host,
};
