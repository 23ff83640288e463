#include "options.h"

#include "../backend/bottle.h"
#include "../backend/idmap.h"
#include "../backend/manifest.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/string.h>

#define DEFAULT_STATE_DIR "/var/lib/bottlefs"
#define DEFAULT_BACKEND "oci"

enum { KEY_PASS, KEY_DROP };

#define BF_OPT(t, p) { t, offsetof(struct bf_options, p), 1 }

static const struct fuse_opt option_spec[] = {
	BF_OPT("state=%s", state_dir),
	BF_OPT("backend=%s", backend),
	BF_OPT("stop_timeout=%s", stop_timeout),
	BF_OPT("read_gid=%s", read_gid),
	BF_OPT("idbase=%s", id_base),
	BF_OPT("log_max=%s", log_max),
	BF_OPT("vm_kernel=%s", vm_kernel),
	FUSE_OPT_END,
};

/* Options libfuse (or the kernel) understands and we pass on. */
static const char *const pass_options[] = {
	"allow_other", "allow_root", "default_permissions", "ro", "rw",
	"nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime",
	"atime", "nodiratime", "debug", "sync", "async", "dirsync", "auto_unmount",
};

/* Prefixes of valued options passed on. */
static const char *const pass_prefixes[] = {
	"fsname=", "subtype=", "max_read=", "max_threads=", "max_idle_threads=",
};

/* fstab-only options that mean nothing to a FUSE daemon (after sshfs). */
static const char *const drop_options[] = {
	"_netdev", "nofail", "auto", "noauto", "user", "users", "nouser",
	"owner", "group", "defaults", "loud", "silent",
};

static bool in_list(const char *arg, const char *const *list, size_t n, bool prefix)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (prefix ? strncmp(arg, list[i], strlen(list[i])) == 0 : strcmp(arg, list[i]) == 0)
			return true;
	return false;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int option_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct bf_options *opts = data;

	(void)outargs;
	if (key == FUSE_OPT_KEY_NONOPT || arg[0] == '-')
		return 1;   /* mountpoint and -f/-d/-s/-h/-V: for fuse_parse_cmdline */
	if (in_list(arg, pass_options, N(pass_options), false) ||
	    in_list(arg, pass_prefixes, N(pass_prefixes), true))
		return 1;
	if (in_list(arg, drop_options, N(drop_options), false) ||
	    strncmp(arg, "x-", 2) == 0 || strncmp(arg, "comment=", 8) == 0)
		return 0;
	if (opts->sloppy)
		return 0;
	if (!opts->bad_option[0])
		strlcpy(opts->bad_option, arg, sizeof(opts->bad_option));
	return -1;
}

int bf_options_parse(struct fuse_args *args, struct bf_options *opts)
{
	if (fuse_opt_parse(args, opts, option_spec, option_proc) < 0)
		return -EINVAL;
	return 0;
}

int bf_helper_args(int argc, char **argv, struct fuse_args *out, struct bf_options *opts)
{
	const char *spec = NULL, *dir = NULL;
	char fsname[300];
	int i;

	if (fuse_opt_add_arg(out, argv[0]) < 0)
		return -ENOMEM;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-o") == 0 && i + 1 < argc) {
			if (fuse_opt_add_arg(out, "-o") < 0 || fuse_opt_add_arg(out, argv[++i]) < 0)
				return -ENOMEM;
		} else if (a[0] == '-' && a[1] && strchr("sfnv", a[1]) && !a[2]) {
			/* mount(8)'s helper flags: sloppy, fake, no-mtab, verbose. */
			opts->sloppy |= a[1] == 's';
			opts->fake |= a[1] == 'f';
		} else if (a[0] == '-') {
			return -EINVAL;
		} else if (!spec) {
			spec = a;
		} else if (!dir) {
			dir = a;
		} else {
			return -EINVAL;
		}
	}
	if (!spec || !dir)
		return -EINVAL;
	snprintf(fsname, sizeof(fsname), "fsname=%s", spec);
	if (fuse_opt_add_arg(out, dir) < 0 || fuse_opt_add_arg(out, "-o") < 0 ||
	    fuse_opt_add_arg(out, fsname) < 0)
		return -ENOMEM;
	return 0;
}

int bf_options_read_gid(const struct bf_options *opts, gid_t *gid)
{
	char *end;
	unsigned long v;

	if (!opts->read_gid)
		return 0;
	v = strtoul(opts->read_gid, &end, 10);
	if (!*opts->read_gid || *end || v > 0xFFFFFFFEul)
		return -EINVAL;
	*gid = (gid_t)v;
	return 1;
}

int bf_options_config(const struct bf_options *opts, struct bf_config *cfg)
{
	const char *state = opts->state_dir ? opts->state_dir : DEFAULT_STATE_DIR;
	const char *backend = opts->backend ? opts->backend : DEFAULT_BACKEND;

	memset(cfg, 0, sizeof(*cfg));
	/* The daemon leaves its working directory: anchor a relative path. */
	if (state[0] != '/') {
		char cwd[2048];

		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		if ((size_t)snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s/%s", cwd, state) >=
		    sizeof(cfg->state_dir))
			return -ENAMETOOLONG;
	} else if (strlcpy(cfg->state_dir, state, sizeof(cfg->state_dir)) >= sizeof(cfg->state_dir)) {
		return -ENAMETOOLONG;
	}
	if (strlcpy(cfg->backend, backend, sizeof(cfg->backend)) >= sizeof(cfg->backend))
		return -EINVAL;
	cfg->stop_timeout = BF_DEFAULT_STOP_TIMEOUT;
	if (opts->stop_timeout) {
		char *end;
		long v = strtol(opts->stop_timeout, &end, 10);

		if (!*opts->stop_timeout || *end || v < 0 || v > 3600)
			return -ERANGE;
		cfg->stop_timeout = v;
	}
	cfg->id_base = BF_ID_BASE_DEFAULT;
	if (opts->id_base) {
		char *end;
		unsigned long long v = strtoull(opts->id_base, &end, 10);

		/* Above every ordinary account, room for at least one bottle. */
		if (!*opts->id_base || *end || opts->id_base[0] == '-' || v < 65536 ||
		    v > 0xFFFFFFFFull - BF_IDS_PER_BOTTLE)
			return -ERANGE;
		cfg->id_base = v;
	}
	cfg->log_max = 1024 * 1024;
	if (opts->log_max && (bf_parse_size(opts->log_max, &cfg->log_max) < 0 ||
			      cfg->log_max < 4096 || cfg->log_max > (1LL << 32)))
		return -ERANGE;
	/* A directory as scripts/vm-kernel.sh makes one (vmlinuz, modules). */
	if (opts->vm_kernel && (opts->vm_kernel[0] != '/' ||
				strlcpy(cfg->vm_kernel, opts->vm_kernel, sizeof(cfg->vm_kernel)) >= sizeof(cfg->vm_kernel)))
		return -EINVAL;
	cfg->id_slots = (unsigned)((0xFFFFFFFFull - cfg->id_base) / BF_IDS_PER_BOTTLE);
	if (cfg->id_base < BF_ID_RANGE_END && cfg->id_slots > (BF_ID_RANGE_END - cfg->id_base) / BF_IDS_PER_BOTTLE)
		cfg->id_slots = (unsigned)((BF_ID_RANGE_END - cfg->id_base) / BF_IDS_PER_BOTTLE);
	if (cfg->id_slots > 16384)
		cfg->id_slots = 16384;
	return 0;
}

void bf_options_free(struct bf_options *opts)
{
	free(opts->state_dir);
	free(opts->backend);
	free(opts->stop_timeout);
	free(opts->read_gid);
	free(opts->id_base);
	free(opts->log_max);
	free(opts->vm_kernel);
}
