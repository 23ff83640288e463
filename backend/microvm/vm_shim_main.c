/* bottlefs-vm-shim: see vm_shim.c. A program of its own, loading only
 * what it uses. */
#include "vm_shim.h"

int main(int argc, char **argv)
{
	return bf_vm_shim_main(argc, argv);
}
