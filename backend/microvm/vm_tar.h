/* The tar format (POSIX ustar, with pax extended headers and GNU long
 * names) as `docker export` writes it: parsing only, pure, no I/O. The
 * microvm backend turns an exported image into its VM's initramfs from
 * it, never extracting a member onto the host. */
#ifndef BOTTLEFS_VM_TAR_H
#define BOTTLEFS_VM_TAR_H

#include <stddef.h>

#define BF_TAR_BLOCK 512
#define BF_TAR_NAME_MAX 4096

struct bf_tar_header {
	char name[BF_TAR_NAME_MAX];     /* prefix/name joined */
	char link[BF_TAR_NAME_MAX];     /* a link's target */
	unsigned mode, uid, gid;
	unsigned long long size;        /* bytes of data after the header */
	char type;                      /* '0' file, '1' hard link, '2' symlink, '5' dir,
					 * 'x'/'g' pax, 'L'/'K' GNU long name/link, ... */
};

/* One header block: 0 (parsed), 1 (an all-zero block: the archive's
 * end), -EINVAL (bad checksum or field). A '\0' type is read as '0'. */
int bf_tar_header_parse(const unsigned char block[BF_TAR_BLOCK], struct bf_tar_header *h);

/* A pax extended header's records ("LEN key=value\n"...) applied to the
 * header of the member they precede: path, linkpath, size, uid, gid
 * (other keys are ignored). 0 or -EINVAL for a malformed record. */
int bf_tar_pax_apply(const char *data, size_t len, struct bf_tar_header *h);

/* A member's name as a relative path: leading "./" and "/" and a
 * trailing "/" dropped. -EINVAL for an empty result (the root itself), a
 * "." or ".." component, or one that does not fit. */
int bf_tar_clean_name(const char *in, char *out, size_t len);

/* Bytes of padding after `size` bytes of data. */
size_t bf_tar_padding(unsigned long long size);

#endif
