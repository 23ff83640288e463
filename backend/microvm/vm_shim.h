/* The per-bottle parent of a microvm bottle's QEMU (see vm_shim.c). */
#ifndef BOTTLEFS_VM_SHIM_H
#define BOTTLEFS_VM_SHIM_H

#define BF_VM_SHIM_NAME "bottlefs-vm-shim"
#define BF_VM_EXEC_NAME "bottlefs-vm-exec"

int bf_vm_shim_main(int argc, char **argv);

#endif
