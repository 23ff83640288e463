#include "image_view.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "loop_device.h"

int bf_image_view_open(const char *image, const char *subdir, int *out, struct bf_error *err)
{
	cleanup_close int img = open(image, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	cleanup_close int loop = -1;
	cleanup_close int fs = -1;
	cleanup_close int mnt = -1;
	char dev[64];
	int fd;

	if (img < 0)
		return bf_error_set(err, errno, "%s: %s", image, strerror(errno));
	loop = bf_loop_attach(img, true, dev, sizeof(dev), err);
	if (loop < 0)
		return loop;
	fs = (int)syscall(SYS_fsopen, "ext4", FSOPEN_CLOEXEC);
	if (fs < 0)
		return bf_error_set(err, errno, "fsopen ext4: %s", strerror(errno));
	/* norecovery: a journal left by a guest that was killed is not
	 * replayed, which would write to the image. */
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", dev, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "norecovery", NULL, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return bf_error_set(err, errno, "cannot mount %s read-only: %s", image, strerror(errno));
	mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
			   MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return bf_error_set(err, errno, "cannot mount %s read-only: %s", image, strerror(errno));
	fd = openat(mnt, subdir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bf_error_set(err, errno, "%s in %s: %s", subdir, image, strerror(errno));
	*out = fd;
	return 0;
}
