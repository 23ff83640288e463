#include "subnet.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

static uint32_t fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static unsigned next_octet(unsigned octet)
{
	octet = octet >= 254 ? 1 : octet + 1;
	return octet == BF_SUBNET_SKIP ? octet + 1 : octet;
}

unsigned bf_subnet_preferred_octet(const char *name)
{
	unsigned octet = 1 + fnv1a32(name) % 254;

	return octet == BF_SUBNET_SKIP ? next_octet(octet) : octet;
}

int bf_subnet_from_octet(unsigned octet, struct bf_subnet *out)
{
	if (octet < 1 || octet > 254 || octet == BF_SUBNET_SKIP)
		return -EINVAL;
	out->octet = octet;
	snprintf(out->cidr, sizeof(out->cidr), "192.168.%u.0/24", octet);
	snprintf(out->gateway, sizeof(out->gateway), "192.168.%u.1", octet);
	snprintf(out->proxy, sizeof(out->proxy), "192.168.%u.2", octet);
	return 0;
}
