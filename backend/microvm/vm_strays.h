/* A VM's processes found by what they are, not by a record: our shim,
 * whose argv[1] is the bottle's run dir, and QEMU, whose agent socket
 * lies in it. For rmdir of a bottle whose record lost its VM (a start the
 * daemon did not finish) and for MNT/cleanup (a VM whose record is gone). */
#ifndef BOTTLEFS_VM_STRAYS_H
#define BOTTLEFS_VM_STRAYS_H

#include <sys/types.h>

#include "../error.h"

/* The shim's and QEMU's executables, either "" when not found. */
struct bf_vm_exes {
	char shim[4096];
	char qemu[4096];
};

void bf_vm_exes_find(struct bf_vm_exes *out);

/* Calls found() for every shim (root's) or QEMU of a VM whose run dir
 * is directly in `run_root` (STATE/run), with the run dir's last name and
 * a pidfd (closed after the call unless found() returns 1: then it is the
 * callee's). 0, or -errno when /proc cannot be read. */
int bf_vm_procs_each(const char *run_root, const struct bf_vm_exes *exes,
		     int (*found)(void *ctx, const char *name, pid_t pid, int pidfd), void *ctx,
		     struct bf_error *err);

/* SIGKILLs the VM processes of run dir RUN_ROOT/NAME and waits (up to 5 s
 * each) for them to go. The number killed, or -errno. */
int bf_vm_kill_by_name(const char *run_root, const char *name, const struct bf_vm_exes *exes,
		       struct bf_error *err);

#endif
