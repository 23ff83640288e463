#include "loop_device.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"

/* Concurrent starts are handed the same free device and all but one get
 * EBUSY: each asks again, so as many tries as starts may run at once. */
#define LOOP_TRIES 256

int bf_loop_attach(int image, bool read_only, char *dev, size_t len, struct bf_error *err)
{
	cleanup_close int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	struct loop_config cfg = { .fd = (unsigned)image };
	int tries;

	if (ctl < 0)
		return bf_error_set(err, errno, "/dev/loop-control: %s", strerror(errno));
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (read_only ? LO_FLAGS_READ_ONLY : 0);
	/* Another process may take the free device first: ask again. */
	for (tries = 0; tries < LOOP_TRIES; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE), loop;

		if (n < 0)
			return bf_error_set(err, errno, "no free loop device: %s", strerror(errno));
		snprintf(dev, len, "/dev/loop%d", n);
		loop = open(dev, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
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
