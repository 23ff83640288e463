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

/* STATE/vm-cache/DIGEST.cpio for the image `rootfs` (a root filesystem
 * directory, "host" (the host's /usr, shared at boot, under its links),
 * or else the name of a local docker image, exported), the
 * agent binary and the kernel bundle's modules, and DIGEST.vmlinuz, the
 * bundle's kernel; built when missing. Every file of a directory image
 * and of the bundle is read as `reader` (the manifest's writer: what it
 * could not read does not reach its VM, whose root reads everything).
 * The digest covers the reader, the bundle, and every entry's path,
 * type, mode, owner, size, link target and change times (mtime and
 * ctime, to the nanosecond) or a docker image's content id: a change to
 * any file makes a new archive, an unchanged image is packed once per
 * reader. The paths go to initrd and kernel, the directory holding the
 * image's passwd and group to etc (PATH_MAX each), DIR/version to
 * release. */
#define BF_VM_RELEASE_MAX 64
struct bf_caller;

/* DIR/version's first line (BF_VM_RELEASE_MAX bytes), "" if none. */
void bf_vm_kernel_release(const char *kernel_dir, char *out);

int bf_vm_image_base(const char *state_dir, const char *rootfs, const char *agent,
		     const char *kernel_dir, const struct bf_caller *reader, char *initrd,
		     char *kernel, char *release, char *etc, struct bf_error *err);

/* RUN_DIR/initrd: the base followed by the tree `etc_tree` (may be NULL:
 * the host image's filtered copy of /etc) and then the files of `etc_dir`
 * (passwd, group), as etc/. */
int bf_vm_image_bottle(const char *base, const char *etc_tree, const char *etc_dir,
		       const char *run_dir, char *out, size_t len, struct bf_error *err);

/* 0 when the host's bin, sbin, lib... are links into /usr (what the host
 * image of a microvm bottle shares), else -ENOTSUP with err set. */
int bf_vm_host_usr_merged(struct bf_error *err);

#endif
