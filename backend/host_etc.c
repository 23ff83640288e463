#include "host_etc.h"

#include <fnmatch.h>
#include <stddef.h>

/* /etc entries a guest must never read, beyond what is not world-readable
 * (which is dropped too). resolv.conf goes because the guest has no DNS. */
static const char *const etc_secrets[] = {
	"shadow", "shadow-", "gshadow", "gshadow-", "sudoers", "sudoers.d",
	"ssh/ssh_host_*", "ssl/private", "security/opasswd", "resolv.conf",
	"docker", "bottlefs", "machine-id", "credstore", "credstore.encrypted",
	"*.key", "wireguard", "NetworkManager/system-connections",
};

bool bf_host_etc_keep(const char *rel, const struct stat *st)
{
	size_t i;

	for (i = 0; i < sizeof(etc_secrets) / sizeof(etc_secrets[0]); i++)
		/* No FNM_PATHNAME: "*.key" is a key file at any depth. */
		if (fnmatch(etc_secrets[i], rel, 0) == 0)
			return false;
	if (S_ISLNK(st->st_mode))
		return true;
	if (S_ISDIR(st->st_mode))
		return (st->st_mode & (S_IROTH | S_IXOTH)) == (S_IROTH | S_IXOTH);
	return (st->st_mode & S_IROTH) != 0;
}
