#include "vm_docker_image.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include <bsd/string.h>

#include "../docker/docker_api.h"
#include "../json_get.h"

int bf_vm_docker_image_id(const char *ref, char *id, size_t len, struct bf_error *err)
{
	char path[1024], enc[768];
	json_object *o = NULL;
	const char *s;
	int r;

	bf_docker_urlencode(ref, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/images/%s/json", enc);
	r = bf_docker_call("GET", path, NULL, &o, err);
	if (r < 0)
		return r;
	s = bf_json_str(o, "Id");
	if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) >= len)
		r = bf_error_set(err, EIO, "docker engine: image %s has no id", ref);
	else
		strlcpy(id, s, len);
	json_object_put(o);
	return r;
}

int bf_vm_docker_export(const char *ref, int fd, struct bf_error *err)
{
	json_object *body = json_object_new_object(), *cmd = json_object_new_array(), *o = NULL;
	char path[256], container[80];
	const char *s;
	struct bf_error ignored;
	int r;

	if (!body || !cmd) {
		json_object_put(body);
		json_object_put(cmd);
		return bf_error_set(err, ENOMEM, "out of memory");
	}
	/* A command is needed to make a container; it never runs. */
	json_object_array_add(cmd, json_object_new_string("/bin/true"));
	json_object_object_add(body, "Image", json_object_new_string(ref));
	json_object_object_add(body, "Cmd", cmd);
	json_object_object_add(body, "NetworkDisabled", json_object_new_boolean(1));
	r = bf_docker_call("POST", "/containers/create", json_object_to_json_string(body), &o, err);
	json_object_put(body);
	if (r < 0)
		return r;
	s = bf_json_str(o, "Id");
	if (!s || strlen(s) >= sizeof(container) || strspn(s, "0123456789abcdef") != strlen(s)) {
		json_object_put(o);
		return bf_error_set(err, EIO, "docker engine: no container id for an export of %s", ref);
	}
	strlcpy(container, s, sizeof(container));
	json_object_put(o);
	snprintf(path, sizeof(path), "/containers/%s/export", container);
	r = bf_docker_call_to_fd("GET", path, fd, err);
	snprintf(path, sizeof(path), "/containers/%s?force=1", container);
	bf_docker_call("DELETE", path, NULL, NULL, &ignored);
	return r;
}
