/* bottlefs-git-fdpass: the mirror's `git fetch` runs it as its
 * upload-pack (--upload-pack=), with the fetch's pipes as its stdin and
 * stdout. It hands both to the daemon over fd 3 (SCM_RIGHTS) and ends;
 * the daemon gives them to a git upload-pack run as the manifest's
 * writer on the host repository. No byte passes through it.
 *
 *   bottlefs-git-fdpass [ignored...]   (fd 3: the daemon's socket) */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	int fds[2] = { 0, 1 };
	char byte = 'g', ctl[CMSG_SPACE(sizeof(fds))] = { 0 };
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(3, &msg, 0) != 1) {
		fputs("bottlefs-git-fdpass: not for direct use\n", stderr);
		return 1;
	}
	return 0;
}
