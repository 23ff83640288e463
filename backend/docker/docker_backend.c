/* Docker Engine: a `--network none` container per bottle. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../backends.h"
#include "../manifest.h"

static const char *docker_socket_path(void)
{
	const char *host = getenv("DOCKER_HOST");

	if (host && strncmp(host, "unix://", 7) == 0)
		return host + 7;
	return "/var/run/docker.sock";
}

static int docker_preflight(struct bf_error *err)
{
	char path[PATH_MAX];
	const char *sock = docker_socket_path();
	int r;

	if (bf_find_program("docker", path, sizeof(path)) < 0)
		return bf_error_set(err, ENOENT, "docker CLI not found (apt-get install docker.io)");
	r = bf_probe_unix_socket(sock);
	if (r < 0)
		return bf_error_set(err, -r, "docker daemon not reachable at %s: %s", sock, strerror(-r));
	return 0;
}

static int docker_check_manifest(const struct bf_manifest *m, struct bf_error *err)
{
	if (strcmp(m->image, "host") == 0)
		return bf_error_set(err, EINVAL, "docker needs an image reference, not \"host\"");
	return 0;
}

/* A --network none container has its own namespace, like oci. */
static const char *docker_guest_sidecar_host(const char *proxy_ip)
{
	(void)proxy_ip;
	return "127.0.0.1";
}

const struct bf_backend bf_backend_docker = {
	.name = "docker",
	.preflight = docker_preflight,
	.check_manifest = docker_check_manifest,
	.guest_sidecar_host = docker_guest_sidecar_host,
};
