#include "fs_path.h"

#include <string.h>
#include <bsd/string.h>

const struct fs_bottle_file fs_bottle_files[] = {
	{ "manifest", BF_FILE_MANIFEST, 0644 },
	{ "plan.toml", BF_FILE_PLAN, 0444 },
	{ "env", BF_FILE_ENV, 0444 },
	{ "network.yaml", BF_FILE_NETWORK, 0444 },
	{ "status", BF_FILE_STATUS, 0444 },
	{ "ctl", BF_FILE_CTL, 0644 },
	{ "log", BF_FILE_LOG, 0444 },
	{ NULL, 0, 0 },
};

/* Copies the component at *p into out and advances past it; false when
 * it does not fit. */
static int next_component(const char **p, char *out, size_t len)
{
	const char *start = *p, *slash = strchr(start, '/');
	size_t n = slash ? (size_t)(slash - start) : strlen(start);

	if (n == 0 || n >= len)
		return 0;
	memcpy(out, start, n);
	out[n] = '\0';
	*p = slash ? slash + 1 : start + n;
	return 1;
}

void fs_path_parse(const char *path, struct fs_path *out)
{
	char first[BF_NAME_MAX + 1], second[BF_NAME_MAX + 1];
	const char *p = path;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->node = NODE_NONE;
	if (*p == '/')
		p++;
	if (*p == '\0') {
		out->node = NODE_ROOT;
		return;
	}
	if (!next_component(&p, first, sizeof(first)))
		return;
	if (*p == '\0') {
		if (strcmp(first, "new") == 0)
			out->node = NODE_NEW_DIR;
		else if (strcmp(first, "errors") == 0)
			out->node = NODE_ERRORS;
		else if (strcmp(first, "backends") == 0)
			out->node = NODE_BACKENDS;
		else {
			out->node = NODE_BOTTLE_DIR;
			strlcpy(out->name, first, sizeof(out->name));
		}
		return;
	}
	if (!next_component(&p, second, sizeof(second)) || *p != '\0')
		return;
	if (strcmp(first, "new") == 0) {
		out->node = NODE_NEW_FILE;
		strlcpy(out->name, second, sizeof(out->name));
		return;
	}
	if (strcmp(first, "errors") == 0 || strcmp(first, "backends") == 0)
		return;
	for (i = 0; fs_bottle_files[i].name; i++) {
		if (strcmp(second, fs_bottle_files[i].name) == 0) {
			out->node = NODE_BOTTLE_FILE;
			strlcpy(out->name, first, sizeof(out->name));
			out->file = fs_bottle_files[i].file;
			out->mode = fs_bottle_files[i].mode;
			return;
		}
	}
}
