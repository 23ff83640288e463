/* Docker Engine's HTTP API over its unix socket (libcurl + json-c): the
 * few calls the docker backend makes. An engine error becomes an errno
 * and the engine's own message: 404 ENOENT (no such image or container),
 * 409 EEXIST (a name in use) or EBUSY, 400 EINVAL, others EIO; an engine
 * that does not answer is ECONNREFUSED. */
#ifndef BOTTLEFS_DOCKER_API_H
#define BOTTLEFS_DOCKER_API_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "../buf.h"
#include "../error.h"

struct json_object;

/* The engine's socket: DOCKER_HOST when it is unix://PATH, else
 * /var/run/docker.sock. */
const char *bf_docker_socket(void);

/* One request; `body` (JSON text) or NULL. On 2xx the parsed response
 * (NULL for an empty one) is put in *out (json_object_put it). */
int bf_docker_call(const char *method, const char *path, const char *body,
		   struct json_object **out, struct bf_error *err);

/* The same, the answer's bytes as they are (an archive is a tar). */
int bf_docker_call_raw(const char *method, const char *path, const char *body,
		       struct bf_buf *out, struct bf_error *err);

/* The same, a 2xx answer's bytes written to `fd` as they come (an
 * image's export, however large). */
int bf_docker_call_to_fd(const char *method, const char *path, int fd, struct bf_error *err);

/* GET /version: "VERSION (API APIVERSION)". */
int bf_docker_version(char *out, size_t len, struct bf_error *err);

/* What inspect says of a container. */
struct bf_docker_state {
	char id[80];
	bool running;
	pid_t pid;
	int exit_code;
	bool oom_killed;
	char started_at[48];    /* RFC 3339, as the engine gives it */
	char labels_state_dir[1024];
	char labels_identity[96];
};

int bf_docker_inspect(const char *id, struct bf_docker_state *out, struct bf_error *err);

/* Percent-encodes `in` for a query string. */
void bf_docker_urlencode(const char *in, char *out, size_t len);

#endif
