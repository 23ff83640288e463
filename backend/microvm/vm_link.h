/* One end of a frame stream (vm_frame.h) on a socket or port: frames
 * read into a buffer as they come, and whole frames written. */
#ifndef BOTTLEFS_VM_LINK_H
#define BOTTLEFS_VM_LINK_H

#include <stdint.h>
#include <sys/types.h>

#include "vm_frame.h"

struct bf_vm_link {
	int fd;
	size_t len, used;       /* bytes in buf; how many the last frame took */
	char buf[BF_VM_FRAME_HEAD + BF_VM_FRAME_MAX];
};

void bf_vm_link_init(struct bf_vm_link *l, int fd);
/* Reads what is there (one read(2)): > 0 bytes, 0 at the end, -errno. */
ssize_t bf_vm_link_fill(struct bf_vm_link *l);
/* The next whole frame read so far: 1 with *f (valid until the next
 * call), 0 if none is complete, -EPROTO if the peer sent no frame. */
int bf_vm_link_next(struct bf_vm_link *l, struct bf_vm_frame *f);
/* Writes a whole frame (blocking until done); 0 or -errno. */
int bf_vm_link_send(int fd, uint32_t chan, uint8_t type, const void *data, uint32_t len);
int bf_vm_link_send_u32(int fd, uint32_t chan, uint8_t type, uint32_t value);

#endif
