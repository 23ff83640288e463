/* A shim's identity in the state record; apart from shim.c so that the
 * shims themselves link no JSON library. */
#include "shim.h"

#include <errno.h>
#include <stdint.h>
#include <json-c/json.h>

#include "json_get.h"

int bf_shim_ident_save(const struct bf_shim_ident *id, struct json_object *o)
{
	if (json_object_object_add(o, "monitor_pid", json_object_new_int64(id->pid)) ||
	    json_object_object_add(o, "monitor_start", json_object_new_uint64(id->start)) ||
	    json_object_object_add(o, "monitor_exe_dev", json_object_new_uint64(id->exe_dev)) ||
	    json_object_object_add(o, "monitor_exe_ino", json_object_new_uint64(id->exe_ino)))
		return -ENOMEM;
	return 0;
}

const char *bf_shim_ident_load(struct json_object *o, struct bf_shim_ident *id)
{
	unsigned long long pid = bf_json_uint64(o, "monitor_pid");

	if (pid > INT32_MAX)
		return "run: monitor_pid out of range";
	id->pid = (pid_t)pid;
	id->start = bf_json_uint64(o, "monitor_start");
	id->exe_dev = bf_json_uint64(o, "monitor_exe_dev");
	id->exe_ino = bf_json_uint64(o, "monitor_exe_ino");
	return NULL;
}
