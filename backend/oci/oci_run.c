#include "oci_run.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include <bsd/string.h>

#include "../buf.h"
#include "../json_get.h"
#include "../quote.h"

/* The key names are those of the records written before the run record
 * had a backend part: old records load unchanged. */
int bf_oci_run_save(const struct bf_run *run, struct json_object *o)
{
	const struct oci_run *r = oci_run_const(run);

	if (json_object_object_add(o, "container_id", json_object_new_string(r->container_id)) ||
	    json_object_object_add(o, "runtime", json_object_new_string(r->runtime)) ||
	    json_object_object_add(o, "monitor_pid", json_object_new_int64(r->shim_pid)) ||
	    json_object_object_add(o, "monitor_start", json_object_new_uint64(r->shim_start)) ||
	    json_object_object_add(o, "monitor_exe_dev", json_object_new_uint64(r->shim_exe_dev)) ||
	    json_object_object_add(o, "monitor_exe_ino", json_object_new_uint64(r->shim_exe_ino)))
		return -ENOMEM;
	return 0;
}



const char *bf_oci_run_load(struct json_object *o, struct bf_run *run)
{
	struct oci_run *r = oci_run(run);
	const char *id = bf_json_str(o, "container_id"), *runtime = bf_json_str(o, "runtime");
	unsigned long long shim = bf_json_uint64(o, "monitor_pid");

	memset(r, 0, sizeof(*r));
	if (!id || strlcpy(r->container_id, id, sizeof(r->container_id)) >= sizeof(r->container_id) ||
	    !runtime || strlcpy(r->runtime, runtime, sizeof(r->runtime)) >= sizeof(r->runtime))
		return "run: bad or missing container_id or runtime";
	if (shim > INT32_MAX)
		return "run: monitor_pid out of range";
	r->shim_pid = (pid_t)shim;
	/* Absent in older records: zero, which re-attach never trusts. */
	r->shim_start = bf_json_uint64(o, "monitor_start");
	r->shim_exe_dev = bf_json_uint64(o, "monitor_exe_dev");
	r->shim_exe_ino = bf_json_uint64(o, "monitor_exe_ino");
	return NULL;
}

static void line(struct bf_buf *out, const char *key, const char *value)
{
	bf_buf_printf(out, "%s: ", key);
	bf_quote_env(out, value, strlen(value));
	bf_buf_putc(out, '\n');
}

void bf_oci_run_render(const struct bf_run *run, struct bf_buf *out)
{
	const struct oci_run *r = oci_run_const(run);

	line(out, "runtime", r->runtime);
	line(out, "container_id", r->container_id);
}

void bf_oci_run_describe(const struct bf_run *run, char *out, size_t len)
{
	const struct oci_run *r = oci_run_const(run);

	snprintf(out, len, "%s container %s", r->runtime, r->container_id);
}
