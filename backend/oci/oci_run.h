/* The oci backend's part of a run record (bf_run.priv): the container
 * and the shim that watches it, with what proves the shim ours later. */
#ifndef BOTTLEFS_OCI_RUN_H
#define BOTTLEFS_OCI_RUN_H

#include "../bottle.h"
#include "../shim.h"

struct oci_run {
	char container_id[96];  /* the runtime's name for the guest */
	char runtime[16];       /* "runc", "crun" */
	struct bf_shim_ident shim;     /* checked before it is trusted */
};

_Static_assert(sizeof(struct oci_run) <= BF_RUN_PRIVATE_SIZE, "oci_run fits bf_run.priv");

static inline struct oci_run *oci_run(struct bf_run *run)
{
	return (struct oci_run *)run->priv.bytes;
}

static inline const struct oci_run *oci_run_const(const struct bf_run *run)
{
	return (const struct oci_run *)run->priv.bytes;
}

int bf_oci_run_save(const struct bf_run *run, struct json_object *obj);
const char *bf_oci_run_load(struct json_object *obj, struct bf_run *run);
void bf_oci_run_render(const struct bf_run *run, struct bf_buf *out);
void bf_oci_run_describe(const struct bf_run *run, char *out, size_t len);

#endif
