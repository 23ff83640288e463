/* The host's /etc as a host image shows it (oci and microvm): secrets and
 * what is not world-readable left out. */
#ifndef BOTTLEFS_HOST_ETC_H
#define BOTTLEFS_HOST_ETC_H

#include <stdbool.h>
#include <sys/stat.h>

/* A bf_copy_filter_fn: whether /etc/REL is copied into a guest's /etc. */
bool bf_host_etc_keep(const char *rel, const struct stat *st);

#endif
