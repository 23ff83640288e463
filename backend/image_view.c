#include "image_view.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

#define LOOP_TRIES 8

/* A free loop device bound read-only to `image`, cleared by the kernel
 * once the file system on it lets go. */
static int attach_loop(int image, char *dev, size_t len, struct bf_error *err)
{
	cleanup_close int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	struct loop_config cfg = { .fd = (unsigned)image };
	int tries;

	if (ctl < 0)
		return bf_error_set(err, errno, "/dev/loop-control: %s", strerror(errno));
	cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
	/* Another process may take the free device first: ask again. */
	for (tries = 0; tries < LOOP_TRIES; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE), loop;

		if (n < 0)
			return bf_error_set(err, errno, "no free loop device: %s", strerror(errno));
		snprintf(dev, len, "/dev/loop%d", n);
		loop = open(dev, O_RDONLY | O_CLOEXEC);
		if (loop < 0)
			return bf_error_set(err, errno, "%s: %s", dev, strerror(errno));
		if (ioctl(loop, LOOP_CONFIGURE, &cfg) == 0)
			return loop;
		close(loop);
		if (errno != EBUSY)
			return bf_error_set(err, errno, "%s: %s", dev, strerror(errno));
	}
	return bf_error_set(err, EBUSY, "no free loop device after %d tries", LOOP_TRIES);
}

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
	loop = attach_loop(img, dev, sizeof(dev), err);
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
