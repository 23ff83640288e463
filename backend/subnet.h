/* The per-bottle subnet (the seeds' derivation): 192.168.X.0/24 with X from
 * a stable hash of the bottle name mod 254, never 17 (Docker's default
 * bridge range), gateway .1, proxy .2. It is private to each guest on
 * every backend, so two bottles may have the same X. */
#ifndef BOTTLEFS_SUBNET_H
#define BOTTLEFS_SUBNET_H

#include <stdbool.h>

#define BF_SUBNET_SKIP 17

struct bf_subnet {
	unsigned octet;         /* 1..254, never 17 */
	char cidr[20];          /* "192.168.X.0/24" */
	char gateway[16];       /* "192.168.X.1" */
	char proxy[16];         /* "192.168.X.2" */
};

/* 1 + (FNV-1a-32(name) mod 254), stepped past 17. */
unsigned bf_subnet_preferred_octet(const char *name);
/* Fills the addresses for an octet; -EINVAL if it is not a valid one. */
int bf_subnet_from_octet(unsigned octet, struct bf_subnet *out);

#endif
