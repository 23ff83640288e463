#include "docker_run.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include <bsd/string.h>

#include "../buf.h"
#include "../json_get.h"

int bf_docker_run_save(const struct bf_run *run, struct json_object *o)
{
	const struct docker_run *r = docker_run_const(run);

	if (json_object_object_add(o, "container_id", json_object_new_string(r->container_id)) ||
	    json_object_object_add(o, "container_name", json_object_new_string(r->name)) ||
	    json_object_object_add(o, "engine", json_object_new_string(r->version)) ||
	    json_object_object_add(o, "log_pid", json_object_new_int64(r->log_pid)) ||
	    json_object_object_add(o, "log_start", json_object_new_uint64(r->log_start)))
		return -ENOMEM;
	return 0;
}


const char *bf_docker_run_load(struct json_object *o, struct bf_run *run)
{
	struct docker_run *r = docker_run(run);
	const char *id = bf_json_str(o, "container_id"), *name = bf_json_str(o, "container_name");
	const char *engine = bf_json_str(o, "engine");
	struct json_object *v;

	memset(r, 0, sizeof(*r));
	if (!id || strlcpy(r->container_id, id, sizeof(r->container_id)) >= sizeof(r->container_id) ||
	    !name || strlcpy(r->name, name, sizeof(r->name)) >= sizeof(r->name))
		return "run: bad or missing container_id or container_name";
	if (engine)
		strlcpy(r->version, engine, sizeof(r->version));
	if (json_object_object_get_ex(o, "log_pid", &v) && json_object_is_type(v, json_type_int)) {
		int64_t pid = json_object_get_int64(v);

		if (pid < 0 || pid > INT32_MAX)
			return "run: log_pid out of range";
		r->log_pid = (pid_t)pid;
	}
	if (json_object_object_get_ex(o, "log_start", &v) && json_object_is_type(v, json_type_int))
		r->log_start = json_object_get_uint64(v);
	return NULL;
}

void bf_docker_run_render(const struct bf_run *run, struct bf_buf *out)
{
	const struct docker_run *r = docker_run_const(run);

	bf_buf_printf(out, "engine: docker %s\n", r->version);
	bf_buf_printf(out, "container_id: %s\n", r->container_id);
	bf_buf_printf(out, "container_name: %s\n", r->name);
}

void bf_docker_run_describe(const struct bf_run *run, char *out, size_t len)
{
	const struct docker_run *r = docker_run_const(run);

	snprintf(out, len, "docker container %s (%.12s)", r->name, r->container_id);
}
