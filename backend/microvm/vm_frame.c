#include "vm_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t get_u32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static void put_u32(char *p, uint32_t v)
{
	p[0] = (char)(v & 0xff);
	p[1] = (char)(v >> 8 & 0xff);
	p[2] = (char)(v >> 16 & 0xff);
	p[3] = (char)(v >> 24 & 0xff);
}

ssize_t bf_vm_frame_parse(const char *buf, size_t len, struct bf_vm_frame *f)
{
	uint32_t plen;
	uint8_t type;

	if (len < BF_VM_FRAME_HEAD)
		return 0;
	plen = get_u32(buf);
	type = (uint8_t)buf[8];
	if (plen > BF_VM_FRAME_MAX || type < BF_VM_HELLO || type >= BF_VM_TYPE_END ||
	    buf[9] || buf[10] || buf[11])
		return -EPROTO;
	if (len - BF_VM_FRAME_HEAD < plen)
		return 0;
	f->len = plen;
	f->chan = get_u32(buf + 4);
	f->type = type;
	f->data = buf + BF_VM_FRAME_HEAD;
	return (ssize_t)(BF_VM_FRAME_HEAD + plen);
}

void bf_vm_frame_head(char out[BF_VM_FRAME_HEAD], uint32_t chan, uint8_t type, uint32_t len)
{
	put_u32(out, len);
	put_u32(out + 4, chan);
	out[8] = (char)type;
	out[9] = out[10] = out[11] = 0;
}

void bf_vm_frame_append(struct bf_buf *out, uint32_t chan, uint8_t type, const void *data,
			uint32_t len)
{
	char head[BF_VM_FRAME_HEAD];

	bf_vm_frame_head(head, chan, type, len);
	bf_buf_append(out, head, sizeof(head));
	if (len)
		bf_buf_append(out, data, len);
}

long long bf_vm_frame_u32(const struct bf_vm_frame *f)
{
	return f->len == 4 ? (long long)get_u32(f->data) : -1;
}

static int parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xfffffffeUL)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* "COLSxROWS", each 1..65535. */
static int parse_size(const char *v, unsigned *cols, unsigned *rows)
{
	unsigned long c, r;
	char *end;

	if (*v < '1' || *v > '9')
		return -EINVAL;
	c = strtoul(v, &end, 10);
	if (*end != 'x' || end[1] < '1' || end[1] > '9')
		return -EINVAL;
	r = strtoul(end + 1, &end, 10);
	if (*end || c > 65535 || r > 65535)
		return -EINVAL;
	*cols = (unsigned)c;
	*rows = (unsigned)r;
	return 0;
}

int bf_vm_exec_parse(const char *data, size_t len, struct bf_vm_exec *out, const char **why)
{
	size_t at = 0;

	memset(out, 0, sizeof(*out));
	out->cwd = "/";
	while (at < len) {
		const char *field = data + at, *nul = memchr(field, '\0', len - at), *eq, *v;
		size_t klen;

		if (!nul) {
			*why = "a field is not ended by NUL";
			return -EINVAL;
		}
		eq = memchr(field, '=', (size_t)(nul - field));
		if (!eq) {
			*why = "a field has no '='";
			return -EINVAL;
		}
		klen = (size_t)(eq - field);
		v = eq + 1;
		if (klen == 3 && memcmp(field, "uid", 3) == 0) {
			if (parse_id(v, &out->uid) < 0) {
				*why = "bad uid";
				return -EINVAL;
			}
		} else if (klen == 3 && memcmp(field, "gid", 3) == 0) {
			if (parse_id(v, &out->gid) < 0) {
				*why = "bad gid";
				return -EINVAL;
			}
		} else if (klen == 3 && memcmp(field, "cwd", 3) == 0) {
			if (*v != '/') {
				*why = "cwd is not absolute";
				return -EINVAL;
			}
			out->cwd = v;
		} else if (klen == 3 && memcmp(field, "arg", 3) == 0) {
			if (out->argc == BF_VM_EXEC_ARGS_MAX) {
				*why = "too many args";
				return -EINVAL;
			}
			out->argv[out->argc++] = v;
		} else if (klen == 3 && memcmp(field, "env", 3) == 0) {
			if (out->envc == BF_VM_EXEC_ENV_MAX) {
				*why = "too many env entries";
				return -EINVAL;
			}
			if (!strchr(v, '=')) {
				*why = "an env entry has no '='";
				return -EINVAL;
			}
			out->env[out->envc++] = v;
		} else if (klen == 3 && memcmp(field, "pty", 3) == 0) {
			if (parse_size(v, &out->cols, &out->rows) < 0) {
				*why = "bad pty size";
				return -EINVAL;
			}
		} else {
			*why = "unknown field";
			return -EINVAL;
		}
		at = (size_t)(nul - data) + 1;
	}
	if (!out->argc || !out->argv[0][0]) {
		*why = "no command";
		return -EINVAL;
	}
	out->argv[out->argc] = NULL;
	out->env[out->envc] = NULL;
	return 0;
}

void bf_vm_exec_field(struct bf_buf *out, const char *key, const char *value)
{
	bf_buf_puts(out, key);
	bf_buf_putc(out, '=');
	bf_buf_puts(out, value);
	bf_buf_append(out, "", 1);
}
