/* The embedded default: an OCI runtime (runc, or crun) from Debian. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "../backends.h"
#include "../manifest.h"

static int oci_preflight(struct bf_error *err)
{
	char path[PATH_MAX];

	if (bf_find_program("runc", path, sizeof(path)) == 0 ||
	    bf_find_program("crun", path, sizeof(path)) == 0)
		return 0;
	return bf_error_set(err, ENOENT, "no OCI runtime: neither runc nor crun is installed (apt-get install runc)");
}

static int oci_check_manifest(const struct bf_manifest *m, struct bf_error *err)
{
	if (strcmp(m->image, "host") != 0 && m->image[0] != '/')
		return bf_error_set(err, EINVAL,
				    "oci image must be \"host\" or an absolute path to a root filesystem, not \"%s\"",
				    m->image);
	return 0;
}

/* The guest's own network namespace holds the sidecar listeners. */
static const char *oci_guest_sidecar_host(const char *proxy_ip)
{
	(void)proxy_ip;
	return "127.0.0.1";
}

const struct bf_backend bf_backend_oci = {
	.name = "oci",
	.preflight = oci_preflight,
	.check_manifest = oci_check_manifest,
	.guest_sidecar_host = oci_guest_sidecar_host,
};
