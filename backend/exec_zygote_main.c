/* bottlefs-exec-zygote: a guest's zygote (nsexec.c) as a program of its
 * own, so that the forks it makes for each command are small. */
#include "nsexec.h"

int main(int argc, char **argv)
{
	return bf_nsexec_zygote_main(argc, argv);
}
