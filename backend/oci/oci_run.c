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
	    json_object_object_add(o, "runtime", json_object_new_string(r->runtime)))
		return -ENOMEM;
	return bf_shim_ident_save(&r->shim, o);
}

const char *bf_oci_run_load(struct json_object *o, struct bf_run *run)
{
	struct oci_run *r = oci_run(run);
	const char *id = bf_json_str(o, "container_id"), *runtime = bf_json_str(o, "runtime");

	memset(r, 0, sizeof(*r));
	if (!id || strlcpy(r->container_id, id, sizeof(r->container_id)) >= sizeof(r->container_id) ||
	    !runtime || strlcpy(r->runtime, runtime, sizeof(r->runtime)) >= sizeof(r->runtime))
		return "run: bad or missing container_id or runtime";
	return bf_shim_ident_load(o, &r->shim);
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
