/* The OCI runtime spec (config.json) generated from a bottle's plan. */
#ifndef BOTTLEFS_OCI_CONFIG_H
#define BOTTLEFS_OCI_CONFIG_H

#include "../bottle.h"
#include "oci_rootfs.h"

/* Writes RUN_DIR/config.json. */
int bf_oci_write_config(const struct bf_bottle *b, const char *run_dir,
			const struct bf_guest_user *user, struct bf_error *err);

#endif
