#include "vm_tar.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/string.h>

/* ustar field offsets and lengths */
#define F_NAME 0, 100
#define F_MODE 100, 8
#define F_UID 108, 8
#define F_GID 116, 8
#define F_SIZE 124, 12
#define F_CHKSUM 148, 8
#define F_TYPE 156
#define F_LINK 157, 100
#define F_MAGIC 257
#define F_PREFIX 345, 155

/* An octal field (spaces and NULs around it), or GNU base-256 (first
 * byte's top bit set) for values that do not fit. */
static int number(const unsigned char *b, size_t off, size_t len, unsigned long long *out)
{
	const unsigned char *p = b + off, *end = b + off + len;
	unsigned long long v = 0;

	if (*p & 0x80) {
		if (*p != 0x80)
			return -EINVAL;         /* negative */
		for (p++; p < end; p++) {
			if (v >> 55)
				return -EINVAL;
			v = v << 8 | *p;
		}
		*out = v;
		return 0;
	}
	while (p < end && (*p == ' ' || *p == '\0'))
		p++;
	for (; p < end && *p >= '0' && *p <= '7'; p++) {
		if (v >> 60)
			return -EINVAL;
		v = v << 3 | (unsigned)(*p - '0');
	}
	for (; p < end; p++)
		if (*p != ' ' && *p != '\0')
			return -EINVAL;
	*out = v;
	return 0;
}

static void string(const unsigned char *b, size_t off, size_t len, char *out, size_t out_len)
{
	size_t n = strnlen((const char *)b + off, len);

	if (n >= out_len)
		n = out_len - 1;
	memcpy(out, b + off, n);
	out[n] = '\0';
}

int bf_tar_header_parse(const unsigned char block[BF_TAR_BLOCK], struct bf_tar_header *h)
{
	unsigned long long sum = 0, want, v;
	char name[101];
	size_t i;

	for (i = 0; i < BF_TAR_BLOCK && !block[i]; i++)
		;
	if (i == BF_TAR_BLOCK)
		return 1;
	/* The checksum counts its own field as spaces. */
	for (i = 0; i < BF_TAR_BLOCK; i++)
		sum += i >= 148 && i < 156 ? ' ' : block[i];
	if (number(block, F_CHKSUM, &want) < 0 || want != sum)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	if (number(block, F_MODE, &v) < 0)
		return -EINVAL;
	h->mode = (unsigned)(v & 07777);
	if (number(block, F_UID, &v) < 0 || v > 0xffffffffULL)
		return -EINVAL;
	h->uid = (unsigned)v;
	if (number(block, F_GID, &v) < 0 || v > 0xffffffffULL)
		return -EINVAL;
	h->gid = (unsigned)v;
	if (number(block, F_SIZE, &h->size) < 0)
		return -EINVAL;
	h->type = block[F_TYPE] ? (char)block[F_TYPE] : '0';
	string(block, F_NAME, name, sizeof(name));
	string(block, F_LINK, h->link, sizeof(h->link));
	/* ustar: a prefix directory before the name */
	if (memcmp(block + F_MAGIC, "ustar", 5) == 0) {
		char prefix[156];

		string(block, F_PREFIX, prefix, sizeof(prefix));
		if (prefix[0]) {
			snprintf(h->name, sizeof(h->name), "%s/%s", prefix, name);
			return 0;
		}
	}
	strlcpy(h->name, name, sizeof(h->name));
	return 0;
}

int bf_tar_pax_apply(const char *data, size_t len, struct bf_tar_header *h)
{
	size_t at = 0;

	while (at < len) {
		const char *rec = data + at, *sp, *eq, *val;
		size_t rec_len = 0, digits, key_len, val_len;

		/* "LEN key=value\n", LEN counting the whole record */
		for (digits = 0; at + digits < len && rec[digits] >= '0' && rec[digits] <= '9'; digits++) {
			if (rec_len > len)
				return -EINVAL;
			rec_len = rec_len * 10 + (size_t)(rec[digits] - '0');
		}
		if (!digits || rec_len > len - at || rec_len < digits + 4 || rec[digits] != ' ' ||
		    rec[rec_len - 1] != '\n')
			return -EINVAL;
		sp = rec + digits;
		eq = memchr(sp + 1, '=', rec_len - digits - 2);
		if (!eq)
			return -EINVAL;
		key_len = (size_t)(eq - (sp + 1));
		val = eq + 1;
		val_len = (size_t)(rec + rec_len - 1 - val);
		if (key_len == 4 && !memcmp(sp + 1, "path", 4)) {
			if (val_len >= sizeof(h->name) || memchr(val, '\0', val_len))
				return -EINVAL;
			memcpy(h->name, val, val_len);
			h->name[val_len] = '\0';
		} else if (key_len == 8 && !memcmp(sp + 1, "linkpath", 8)) {
			if (val_len >= sizeof(h->link) || memchr(val, '\0', val_len))
				return -EINVAL;
			memcpy(h->link, val, val_len);
			h->link[val_len] = '\0';
		} else if ((key_len == 4 && !memcmp(sp + 1, "size", 4)) ||
			   (key_len == 3 && (!memcmp(sp + 1, "uid", 3) || !memcmp(sp + 1, "gid", 3)))) {
			unsigned long long v = 0;
			size_t k;

			if (!val_len || val_len > 19)
				return -EINVAL;
			for (k = 0; k < val_len; k++) {
				if (val[k] < '0' || val[k] > '9')
					return -EINVAL;
				v = v * 10 + (unsigned)(val[k] - '0');
			}
			if (key_len == 4)
				h->size = v;
			else if (v > 0xffffffffULL)
				return -EINVAL;
			else if (sp[1] == 'u')
				h->uid = (unsigned)v;
			else
				h->gid = (unsigned)v;
		}
		at += rec_len;
	}
	return 0;
}

int bf_tar_clean_name(const char *in, char *out, size_t len)
{
	const char *p = in, *c;
	size_t n;

	for (;;) {
		if (p[0] == '/')
			p++;
		else if (p[0] == '.' && p[1] == '/')
			p += 2;
		else
			break;
	}
	n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (!n || n >= len || (n == 1 && p[0] == '.'))
		return -EINVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	/* no ".." component, no empty one */
	for (c = out; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL) {
		size_t k = strcspn(c, "/");

		if (k == 0 || (k == 1 && c[0] == '.') || (k == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
	}
	return 0;
}

size_t bf_tar_padding(unsigned long long size)
{
	return (size_t)((BF_TAR_BLOCK - size % BF_TAR_BLOCK) % BF_TAR_BLOCK);
}
