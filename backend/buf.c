#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct bf_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return false;
	if (extra > SIZE_MAX - b->len - 1)
		goto fail;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		goto fail;
	b->data = p;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

void bf_buf_append(struct bf_buf *b, const void *data, size_t len)
{
	if (!reserve(b, len))
		return;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void bf_buf_puts(struct bf_buf *b, const char *s)
{
	bf_buf_append(b, s, strlen(s));
}

void bf_buf_putc(struct bf_buf *b, char c)
{
	bf_buf_append(b, &c, 1);
}

void bf_buf_printf(struct bf_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n)) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void bf_buf_set_len(struct bf_buf *b, size_t len)
{
	if (len > b->len) {
		if (!reserve(b, len - b->len))
			return;
		memset(b->data + b->len, 0, len - b->len);
	}
	if (b->data) {
		b->len = len;
		b->data[len] = '\0';
	}
}

int bf_buf_finish(struct bf_buf *b)
{
	if (b->failed) {
		bf_buf_free(b);
		return -ENOMEM;
	}
	if (!b->data)
		bf_buf_append(b, "", 0);
	return b->failed ? (bf_buf_free(b), -ENOMEM) : 0;
}

void bf_buf_free(struct bf_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}
