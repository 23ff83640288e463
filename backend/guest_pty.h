/* Terminals for exec sessions, taken from the guest's own devpts
 * instance: inside the guest the command's terminal is an ordinary
 * /dev/pts/N (`tty` names it), owned by the guest user. */
#ifndef BOTTLEFS_GUEST_PTY_H
#define BOTTLEFS_GUEST_PTY_H

#include <sys/ioctl.h>
#include <sys/types.h>

#include "error.h"

/* A terminal of the devpts mounted at dev/pts under `guest_root` (an fd
 * of the guest's root directory), resolved without following any link
 * the guest could have planted. The pair's size is `size`; the terminal
 * is chowned to host ids `owner`:`group`. On success *master and *slave
 * are open (close-on-exec); -errno with `err` set otherwise. */
int bf_guest_pty_open(int guest_root, const struct winsize *size, uid_t owner, gid_t group,
		      int *master, int *slave, struct bf_error *err);

#endif
