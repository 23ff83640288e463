#include "guest_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"

int bf_guest_pty_open(int guest_root, const struct winsize *size, uid_t owner, gid_t group,
		      int *master, int *slave, struct bf_error *err)
{
	/* RESOLVE_IN_ROOT keeps ".." and absolute links inside the guest;
	 * no links at all, since /dev is the guest's to rewrite. */
	struct open_how how = {
		.flags = O_RDWR | O_NOCTTY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	cleanup_close int ptmx = -1;
	cleanup_close int peer = -1;
	struct statfs fs;
	int unlock = 0;

	ptmx = (int)syscall(SYS_openat2, guest_root, "dev/pts/ptmx", &how, sizeof(how));
	if (ptmx < 0)
		return bf_error_set(err, errno, "cannot open the guest's /dev/pts/ptmx: %s",
				    strerror(errno));
	if (fstatfs(ptmx, &fs) < 0 || fs.f_type != DEVPTS_SUPER_MAGIC)
		return bf_error_set(err, ENOTTY, "the guest's /dev/pts is not a devpts file system");
	if (ioctl(ptmx, TIOCSPTLCK, &unlock) < 0 || ioctl(ptmx, TIOCSWINSZ, size) < 0)
		return bf_error_set(err, errno, "cannot set up a terminal: %s", strerror(errno));
	/* By the master, not by a path in the guest's tree. */
	peer = ioctl(ptmx, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0)
		return bf_error_set(err, errno, "cannot open the terminal's peer: %s", strerror(errno));
	if (fchown(peer, owner, group) < 0 || fchmod(peer, 0620) < 0)
		return bf_error_set(err, errno, "cannot give the terminal to the guest user: %s",
				    strerror(errno));
	*master = ptmx;
	*slave = peer;
	ptmx = peer = -1;
	return 0;
}
