/* The initramfs a microvm bottle boots: the image's tree with the agent
 * as /init and the kernel's modules (built once per content, cached), and
 * a small part of the bottle's own (its /etc/passwd and /etc/group)
 * appended, which the kernel unpacks over the first. */
#ifndef BOTTLEFS_VM_IMAGE_H
#define BOTTLEFS_VM_IMAGE_H

#include <stddef.h>

#include "../error.h"

/* The kernel bundle scripts/vm-kernel.sh makes: DIR/vmlinuz,
 * DIR/modules/NAME.ko, DIR/modules.load, DIR/version. */
#define BF_VM_KERNEL_DIR "/usr/local/lib/bottlefs/vm"

/* STATE/vm-cache/DIGEST.cpio for the image directory `rootfs`, the agent
 * binary and the kernel bundle's modules; built when missing. The digest
 * covers every entry's path, type, mode, owner, size, link target and
 * change times (mtime and ctime, to the nanosecond), so a change to any
 * file of the image, the agent or the modules makes a new archive, and an
 * unchanged image is packed once. Its path goes to out. */
int bf_vm_image_base(const char *state_dir, const char *rootfs, const char *agent,
		     const char *kernel_dir, char *out, size_t len, struct bf_error *err);

/* RUN_DIR/initrd: the base followed by the files of `etc_dir` (passwd,
 * group) as etc/. */
int bf_vm_image_bottle(const char *base, const char *etc_dir, const char *run_dir, char *out,
		       size_t len, struct bf_error *err);

#endif
