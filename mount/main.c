/* bottlefs: mount the bottle tree. Also mount.bottlefs, the helper
 * mount(8) runs for `mount -t bottlefs` and fstab lines (same binary,
 * told apart by its name, as sshfs does). The filesystem is mounted before
 * the daemon detaches, so mount's exit status tells the truth. */
#define FUSE_USE_VERSION 314
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backend/backends.h"
#include "../backend/registry.h"
#include "../fs/fs.h"
#include "options.h"

#define DEFAULT_MAX_THREADS "64"

#ifndef BOTTLEFS_VERSION
#define BOTTLEFS_VERSION "unknown"
#endif

static void usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-s] [-o OPTIONS] MOUNTPOINT\n"
	       "       mount -t bottlefs [-o OPTIONS] bottlefs MOUNTPOINT\n\n"
	       "bottlefs options:\n"
	       "    -o state=DIR       state directory (default /var/lib/bottlefs)\n"
	       "    -o backend=NAME    default backend: %s (default oci)\n"
	       "    -o stop_timeout=N  seconds from SIGTERM to SIGKILL for manifests without one (10)\n"
	       "    -o allow_other     let the kernel pass other users' requests on (see read_gid=)\n"
	       "    -o read_gid=GID    with allow_other: members of GID may read the tree\n"
	       "    -o idbase=N        first host id of the guests' id range (1073741824)\n"
	       "    -o log_max=SIZE    log and egress move to .1 past this size (1M)\n"
	       "    -f                 stay in the foreground\n"
	       "    -d                 debug output (implies -f)\n"
	       "    -s                 single-threaded\n"
	       "See bottlefs(8) and mount.bottlefs(8).\n", prog, bf_backend_names());
}

static void ignore_signal(int sig)
{
	(void)sig;
}

/* With interrupts on, libfuse signals a worker whose
 * request was interrupted with SIGUSR1; unhandled, that would end the
 * daemon. Our blocking waits poll fuse_interrupted() instead. */
static int handle_interrupt_signal(void)
{
	struct sigaction sa = { .sa_handler = ignore_signal, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL);
}

static bool is_helper(const char *argv0)
{
	char copy[4096];

	snprintf(copy, sizeof(copy), "%s", argv0);
	return strncmp(basename(copy), "mount.", 6) == 0;
}

static int run(struct fuse_args *args, struct bf_options *opts)
{
	struct fuse_cmdline_opts cmd = { 0 };
	struct bf_config cfg;
	struct bf_error err = { 0 };
	struct bf_fs fsctx = { .owner = getuid() };
	struct fuse_loop_config *loop = NULL;
	struct fuse_session *se = NULL;
	int ret = 1, r;

	if (fuse_parse_cmdline(args, &cmd) != 0)
		return 2;
	if (cmd.show_help) {
		usage(args->argv[0]);
		ret = 0;
		goto out;
	}
	if (cmd.show_version) {
		printf("bottlefs %s (libfuse %s)\n", BOTTLEFS_VERSION, fuse_pkgversion());
		ret = 0;
		goto out;
	}
	if (!cmd.mountpoint) {
		fprintf(stderr, "bottlefs: no mountpoint given (try --help)\n");
		ret = 2;
		goto out;
	}
	if (bf_options_config(opts, &cfg) < 0) {
		fprintf(stderr, "bottlefs: bad option value: state= and backend= must fit, "
				"stop_timeout= must be 0-3600 seconds, idbase= 65536-4294901759, log_max= 4K-4G\n");
		ret = 2;
		goto out;
	}
	r = bf_options_read_gid(opts, &fsctx.read_gid);
	if (r < 0) {
		fprintf(stderr, "bottlefs: read_gid= must be a numeric group id\n");
		ret = 2;
		goto out;
	}
	fsctx.has_read_gid = r == 1;
	if (bf_registry_open(&cfg, &fsctx.reg, &err) < 0) {
		fprintf(stderr, "bottlefs: %s\n", err.msg);
		goto out;
	}
	if (opts->fake) {
		ret = 0;
		goto out;
	}
	se = fuse_session_new(args, bf_fs_lowlevel_ops(), sizeof(struct fuse_lowlevel_ops), &fsctx);
	if (!se)
		goto out;
	fsctx.se = se;
	if (fuse_session_mount(se, cmd.mountpoint) != 0)
		goto out;
	if (fuse_set_signal_handlers(se) != 0 || handle_interrupt_signal() < 0)
		goto unmount;
	if (fuse_daemonize(cmd.foreground) != 0)
		goto handlers;
	if (cmd.singlethread) {
		ret = fuse_session_loop(se) ? 1 : 0;
	} else {
		loop = fuse_loop_cfg_create();
		if (!loop)
			goto handlers;
		fuse_loop_cfg_set_clone_fd(loop, cmd.clone_fd);
		if (cmd.max_idle_threads != UINT_MAX)   /* UINT_MAX: not given */
			fuse_loop_cfg_set_idle_threads(loop, cmd.max_idle_threads);
		fuse_loop_cfg_set_max_threads(loop, cmd.max_threads);
		ret = fuse_session_loop_mt(se, loop) ? 1 : 0;
		fuse_loop_cfg_destroy(loop);
	}
	bf_fs_shutdown();
handlers:
	fuse_remove_signal_handlers(se);
unmount:
	fuse_session_unmount(se);
out:
	if (se)
		fuse_session_destroy(se);
	bf_registry_close(fsctx.reg);
	free(cmd.mountpoint);
	return ret;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	const struct bf_helper_entry *helper = bf_backend_helper(argv[0]);
	struct bf_options opts = { 0 };
	int ret;

	/* A backend's helper process, run as this binary by another name. */
	if (helper)
		return helper->main(argc, argv);
	if (is_helper(argv[0])) {
		if (bf_helper_args(argc, argv, &args, &opts) < 0) {
			fprintf(stderr, "usage: mount.bottlefs SPEC MOUNTPOINT [-sfnv] [-o OPTIONS]\n");
			fuse_opt_free_args(&args);
			return 1;
		}
	} else {
		int i;

		/* A copy: libfuse may only append to arguments it allocated. */
		for (i = 0; i < argc; i++)
			if (fuse_opt_add_arg(&args, argv[i]) < 0)
				return 1;
		/* First, so that a user's -o fsname= wins. */
		if (fuse_opt_insert_arg(&args, 1, "-ofsname=bottlefs") < 0)
			return 1;
	}
	/* Defaults go first, so that a user's -o max_threads=/subtype= wins.
	 * Readers that wait hold no worker (fs_lowlevel.c), but a write to
	 * ctl waits for its start or stop: more than libfuse's 10. */
	if (fuse_opt_insert_arg(&args, 1, "-omax_threads=" DEFAULT_MAX_THREADS ",subtype=bottlefs") < 0) {
		ret = 1;
		goto out;
	}
	/* The kernel checks permission bits: the root is the owner's alone. */
	if (fuse_opt_add_arg(&args, "-odefault_permissions") < 0 ||
	    bf_options_parse(&args, &opts) < 0) {
		if (opts.bad_option[0])
			fprintf(stderr, "bottlefs: unknown mount option '%s' (see mount.bottlefs(8))\n",
				opts.bad_option);
		ret = 1;
		goto out;
	}
	ret = run(&args, &opts);
out:
	fuse_opt_free_args(&args);
	bf_options_free(&opts);
	return ret;
}
