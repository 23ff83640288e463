/* A bottle's VM processes found by what they are, not by a record: the
 * shim whose run dir argument is the bottle's, and the QEMU whose agent
 * socket lies in it. For rmdir of a bottle whose record lost its VM (a
 * start the daemon did not finish, a record edited by hand). */
#ifndef BOTTLEFS_VM_STRAYS_H
#define BOTTLEFS_VM_STRAYS_H

#include "../error.h"

/* SIGKILLs every root-owned process whose executable is `shim_exe` with
 * argv[1] == run_dir, or `qemu_exe` with an argument naming
 * run_dir/agent.sock, and waits (up to 5 s) for them to go. The number
 * killed, or -errno. */
int bf_vm_kill_strays(const char *run_dir, const char *shim_exe, const char *qemu_exe,
		      struct bf_error *err);

#endif
