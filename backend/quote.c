#include "quote.h"

#include <stdint.h>

/* Decodes one UTF-8 sequence; input is known to be valid UTF-8 (the
 * manifest parser rejects anything else), but stay safe on bad bytes by
 * treating them as single code units. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		*cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		*cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		*cp = s[0] & 0x07;
	} else {
		*cp = s[0];
		return 1;
	}
	if (n > len) {
		*cp = s[0];
		return 1;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = s[0];
			return 1;
		}
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	return n;
}

void bf_quote_toml(struct bf_buf *b, const char *s, size_t len)
{
	size_t i;

	bf_buf_putc(b, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"': bf_buf_puts(b, "\\\""); break;
		case '\\': bf_buf_puts(b, "\\\\"); break;
		case '\b': bf_buf_puts(b, "\\b"); break;
		case '\t': bf_buf_puts(b, "\\t"); break;
		case '\n': bf_buf_puts(b, "\\n"); break;
		case '\f': bf_buf_puts(b, "\\f"); break;
		case '\r': bf_buf_puts(b, "\\r"); break;
		default:
			if (c < 0x20 || c == 0x7F)
				bf_buf_printf(b, "\\u%04X", c);
			else
				bf_buf_putc(b, (char)c);
		}
	}
	bf_buf_putc(b, '"');
}

/* YAML's printable set (1.1 and 1.2 agree), minus the characters YAML 1.1
 * treats as line breaks (NEL, LS, PS), which a double-quoted scalar would
 * fold into spaces. */
static int yaml_verbatim(uint32_t cp)
{
	if (cp >= 0x20 && cp <= 0x7E)
		return cp != '"' && cp != '\\';
	if (cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF)
		return 0;
	return (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
	       (cp >= 0x10000 && cp <= 0x10FFFF);
}

void bf_quote_yaml(struct bf_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	bf_buf_putc(b, '"');
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_next(p + i, len - i, &cp);

		if (yaml_verbatim(cp))
			bf_buf_append(b, p + i, n);
		else if (cp == '"')
			bf_buf_puts(b, "\\\"");
		else if (cp == '\\')
			bf_buf_puts(b, "\\\\");
		else if (cp == '\n')
			bf_buf_puts(b, "\\n");
		else if (cp == '\t')
			bf_buf_puts(b, "\\t");
		else if (cp <= 0xFF)
			bf_buf_printf(b, "\\x%02X", (unsigned)cp);
		else if (cp <= 0xFFFF)
			bf_buf_printf(b, "\\u%04X", (unsigned)cp);
		else
			bf_buf_printf(b, "\\U%08X", (unsigned)cp);
		i += n;
	}
	bf_buf_putc(b, '"');
}

void bf_quote_env(struct bf_buf *b, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			bf_buf_puts(b, "\\\\");
		else if (c == '\n')
			bf_buf_puts(b, "\\n");
		else if (c == '\t')
			bf_buf_puts(b, "\\t");
		else if (c == '\r')
			bf_buf_puts(b, "\\r");
		else if (c < 0x20 || c == 0x7F)
			bf_buf_printf(b, "\\x%02X", c);
		else
			bf_buf_putc(b, (char)c);
	}
}
