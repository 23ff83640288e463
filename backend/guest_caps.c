#include "guest_caps.h"

#include <linux/capability.h>

/* No raw sockets, mknod, chroot, audit, module loading or admin. */
const struct bf_guest_cap bf_guest_root_caps[] = {
	{ "CAP_CHOWN", CAP_CHOWN }, { "CAP_DAC_OVERRIDE", CAP_DAC_OVERRIDE },
	{ "CAP_FOWNER", CAP_FOWNER }, { "CAP_FSETID", CAP_FSETID }, { "CAP_KILL", CAP_KILL },
	{ "CAP_SETGID", CAP_SETGID }, { "CAP_SETUID", CAP_SETUID },
	{ "CAP_SETPCAP", CAP_SETPCAP }, { "CAP_NET_BIND_SERVICE", CAP_NET_BIND_SERVICE },
};

const size_t bf_guest_root_caps_len = sizeof(bf_guest_root_caps) / sizeof(bf_guest_root_caps[0]);

uint64_t bf_guest_root_cap_mask(void)
{
	uint64_t mask = 0;
	size_t i;

	for (i = 0; i < bf_guest_root_caps_len; i++)
		mask |= 1ULL << bf_guest_root_caps[i].number;
	return mask;
}
