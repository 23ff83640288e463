/* The capabilities a guest's root keeps, valid only inside the bottle's
 * user namespace: file ownership and signals among its own processes.
 * A guest user other than root keeps none, in every set, bounding too.
 * One list for the runtime's config (init) and for exec sessions. */
#ifndef BOTTLEFS_GUEST_CAPS_H
#define BOTTLEFS_GUEST_CAPS_H

#include <stddef.h>
#include <stdint.h>

struct bf_guest_cap {
	const char *name;       /* "CAP_CHOWN" */
	int number;
};

extern const struct bf_guest_cap bf_guest_root_caps[];
extern const size_t bf_guest_root_caps_len;

/* The set as a bit mask (bit N: capability N). */
uint64_t bf_guest_root_cap_mask(void);

#endif
