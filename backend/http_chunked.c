#include "http_chunked.h"
#include "hex_digit.h"

enum {
	SIZE_FIRST,     /* a chunk's size: its first hex digit */
	SIZE,           /* more digits, an extension, or CR */
	EXTENSION,      /* anything up to CR */
	SIZE_LF,
	DATA,
	DATA_CR,
	DATA_LF,
	TRAILER,        /* a trailer line's start, or the final CR */
	TRAILER_LINE,
	TRAILER_LF,
	END_LF,
	DONE,
};

/* 15 hex digits: a chunk under 2^60 bytes, no overflow. */
#define SIZE_DIGITS_MAX 15

ssize_t bf_http_chunked_feed(struct bf_http_chunked *c, const char *p, size_t len, bool *done)
{
	size_t i = 0;

	while (i < len && c->state != DONE) {
		char ch = p[i];
		int h;

		switch (c->state) {
		case SIZE_FIRST:
		case SIZE:
			h = bf_hex_digit(ch);
			if (h >= 0) {
				if (++c->digits > SIZE_DIGITS_MAX)
					return -1;
				c->left = c->left * 16 + (unsigned)h;
				c->state = SIZE;
			} else if (c->state == SIZE && (ch == ';' || ch == ' ' || ch == '\t')) {
				c->state = EXTENSION;
			} else if (c->state == SIZE && ch == '\r') {
				c->state = SIZE_LF;
			} else {
				return -1;
			}
			break;
		case EXTENSION:
			if (ch == '\r')
				c->state = SIZE_LF;
			else if (ch == '\n')
				return -1;
			break;
		case SIZE_LF:
			if (ch != '\n')
				return -1;
			c->digits = 0;
			c->state = c->left ? DATA : TRAILER;
			break;
		case DATA: {
			size_t take = len - i < c->left ? len - i : (size_t)c->left;

			c->left -= take;
			i += take;
			if (!c->left)
				c->state = DATA_CR;
			continue;
		}
		case DATA_CR:
			if (ch != '\r')
				return -1;
			c->state = DATA_LF;
			break;
		case DATA_LF:
			if (ch != '\n')
				return -1;
			c->state = SIZE_FIRST;
			break;
		case TRAILER:
			c->state = ch == '\r' ? END_LF : TRAILER_LINE;
			if (ch == '\n')
				return -1;
			break;
		case TRAILER_LINE:
			if (ch == '\r')
				c->state = TRAILER_LF;
			else if (ch == '\n')
				return -1;
			break;
		case TRAILER_LF:
			if (ch != '\n')
				return -1;
			c->state = TRAILER;
			break;
		case END_LF:
			if (ch != '\n')
				return -1;
			c->state = DONE;
			break;
		default:
			return -1;
		}
		i++;
	}
	*done = c->state == DONE;
	return (ssize_t)i;
}
