/* The value of one hexadecimal digit, for the parsers that read them (the
 * manifest's TOML escapes, git's pkt-line lengths, HTTP chunk sizes). A
 * header of its own, inline, since each parser is also built alone into
 * its fuzzer. */
#ifndef BOTTLEFS_HEX_DIGIT_H
#define BOTTLEFS_HEX_DIGIT_H

/* 0-15, or -1 if `c` is no hex digit. */
static inline int bf_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
