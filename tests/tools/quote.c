/* Test tool: quotes stdin's bytes with one of the renderers' quoting
 * functions, so a script can check that a real parser reads them back. */
#include <stdio.h>
#include <string.h>

#include "../../backend/buf.h"
#include "../../backend/quote.h"

int main(int argc, char **argv)
{
	struct bf_buf in = { 0 }, out = { 0 };
	char chunk[4096];
	size_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: quote toml|yaml|env < bytes\n");
		return 2;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		bf_buf_append(&in, chunk, n);
	if (bf_buf_finish(&in) < 0)
		return 1;
	if (strcmp(argv[1], "toml") == 0) {
		bf_buf_puts(&out, "v = ");
		bf_quote_toml(&out, in.data, in.len);
	} else if (strcmp(argv[1], "yaml") == 0) {
		bf_buf_puts(&out, "v: ");
		bf_quote_yaml(&out, in.data, in.len);
	} else if (strcmp(argv[1], "env") == 0) {
		bf_quote_env(&out, in.data, in.len);
	} else {
		return 2;
	}
	bf_buf_putc(&out, '\n');
	if (bf_buf_finish(&out) < 0)
		return 1;
	fwrite(out.data, 1, out.len, stdout);
	bf_buf_free(&in);
	bf_buf_free(&out);
	return 0;
}
