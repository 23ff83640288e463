/* Loop devices, taken and bound with ioctls (no losetup or mount(8) to
 * run): the kernel frees one once the file system on it lets go. */
#ifndef BOTTLEFS_LOOP_DEVICE_H
#define BOTTLEFS_LOOP_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* A free loop device bound to the open file `image` (read-only if asked),
 * with autoclear; its path in dev. Returns its fd, or -errno with err
 * set. */
int bf_loop_attach(int image, bool read_only, char *dev, size_t len, struct bf_error *err);

#endif
