/* bottlefs-vm-fwd: QEMU runs it for each connection the guest makes to a
 * forwarded sidecar port (guestfwd=...-cmd:), with that connection as its
 * stdin. It hands the connection itself to the bottle's sidecar listener,
 * a unix socket of the daemon's (SCM_RIGHTS), and ends: no byte passes
 * through it.
 *
 *   bottlefs-vm-fwd SOCKET */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char byte = 'c', ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	int fd, conn = 0;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fputs("bottlefs-vm-fwd: not for direct use\n", stderr);
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 1;       /* no proxy yet: the guest's connection closes */
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &conn, sizeof(int));
	return sendmsg(fd, &msg, 0) == 1 ? 0 : 1;
}
