#include "vm_link.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

void bf_vm_link_init(struct bf_vm_link *l, int fd)
{
	l->fd = fd;
	l->len = l->used = 0;
}

ssize_t bf_vm_link_fill(struct bf_vm_link *l)
{
	ssize_t n;

	if (l->used) {
		memmove(l->buf, l->buf + l->used, l->len - l->used);
		l->len -= l->used;
		l->used = 0;
	}
	if (l->len == sizeof(l->buf))
		return -EPROTO;         /* a whole frame always fits */
	do
		n = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	l->len += (size_t)n;
	return n;
}

int bf_vm_link_next(struct bf_vm_link *l, struct bf_vm_frame *f)
{
	ssize_t n = bf_vm_frame_parse(l->buf + l->used, l->len - l->used, f);

	if (n <= 0)
		return (int)n;
	l->used += (size_t)n;
	return 1;
}

int bf_vm_link_send(int fd, uint32_t chan, uint8_t type, const void *data, uint32_t len)
{
	char head[BF_VM_FRAME_HEAD];
	struct iovec iov[2] = { { head, sizeof(head) }, { (void *)data, len } }, *v = iov;
	int cnt = len ? 2 : 1;

	bf_vm_frame_head(head, chan, type, len);
	while (cnt > 0) {
		ssize_t n = writev(fd, v, cnt);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		while (cnt > 0 && (size_t)n >= v->iov_len) {
			n -= (ssize_t)v->iov_len;
			v++;
			cnt--;
		}
		if (cnt > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int bf_vm_link_send_u32(int fd, uint32_t chan, uint8_t type, uint32_t value)
{
	unsigned char b[4] = { (unsigned char)value, (unsigned char)(value >> 8),
			       (unsigned char)(value >> 16), (unsigned char)(value >> 24) };

	return bf_vm_link_send(fd, chan, type, b, 4);
}
