/* bottlefs-oci-shim: the oci backend's per-bottle supervisor as a program
 * of its own, so that starting one loads no more than it uses. */
#include "oci_shim.h"

int main(int argc, char **argv)
{
	return bf_oci_shim_main(argc, argv);
}
