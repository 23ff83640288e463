/* A growable byte buffer: every generated file is rendered into one. */
#ifndef BOTTLEFS_BUF_H
#define BOTTLEFS_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct bf_buf {
	char *data;     /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	bool failed;    /* an allocation failed; later appends are no-ops */
};

void bf_buf_append(struct bf_buf *b, const void *data, size_t len);
void bf_buf_puts(struct bf_buf *b, const char *s);
void bf_buf_putc(struct bf_buf *b, char c);
void bf_buf_printf(struct bf_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Grows (with zero bytes) or shrinks the content to exactly len bytes. */
void bf_buf_set_len(struct bf_buf *b, size_t len);
/* Returns 0, or -ENOMEM if any append failed (the buffer is then freed). */
int bf_buf_finish(struct bf_buf *b);
void bf_buf_free(struct bf_buf *b);

#endif
