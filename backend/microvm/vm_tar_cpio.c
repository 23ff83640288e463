#include "vm_tar_cpio.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "vm_tar.h"

#define META_MAX (1 << 20)      /* a pax header's or long name's data */

/* Where a regular member's data lies: a hard link later copies it. */
struct stored {
	char *name;
	off_t data;
	unsigned long long size;
};

struct files {
	struct stored *v;
	size_t n, cap;
};

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	return 0;
}

static int remember(struct files *f, const char *name, off_t data, unsigned long long size)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		struct stored *v = reallocarray(f->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n].name = strdup(name);
	if (!f->v[f->n].name)
		return -ENOMEM;
	f->v[f->n].data = data;
	f->v[f->n].size = size;
	f->n++;
	return 0;
}

static const struct stored *find(const struct files *f, const char *name)
{
	/* Hard links are few: the newest member of that name wins. */
	for (size_t i = f->n; i-- > 0;)
		if (strcmp(f->v[i].name, name) == 0)
			return &f->v[i];
	return NULL;
}

static void files_free(struct files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].name);
	free(f->v);
}

static bool skipped(const char *name, bool (*skip)(const char *))
{
	char top[256];
	size_t n = strcspn(name, "/");

	if (!skip || n >= sizeof(top))
		return false;
	memcpy(top, name, n);
	top[n] = '\0';
	return skip(top);
}

/* One member's data read (a pax header's, a long name's). */
static int read_meta(int fd, unsigned long long size, char **out, struct bf_error *err)
{
	char *buf;
	int r;

	if (size > META_MAX)
		return bf_error_set(err, EINVAL, "image: a %llu-byte tar extended header", size);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return bf_error_set(err, ENOMEM, "out of memory");
	r = read_full(fd, buf, (size_t)size);
	if (r == 0 && lseek(fd, (off_t)bf_tar_padding(size), SEEK_CUR) < 0)
		r = -errno;
	if (r < 0) {
		free(buf);
		return bf_error_set(err, -r, "image: the archive is cut short");
	}
	buf[size] = '\0';
	*out = buf;
	return 0;
}

/* A kept member's data, read from where it lies (the cpio copy moved on). */
static int keep_member(int fd, off_t data, unsigned long long size, const char *name,
		       struct bf_tar_keep *keep)
{
	for (size_t i = 0; keep && i < 2; i++) {
		char *buf;

		if (!keep->names[i] || strcmp(keep->names[i], name) != 0 || size > META_MAX)
			continue;
		buf = malloc((size_t)size + 1);
		if (!buf)
			return -ENOMEM;
		if (pread(fd, buf, (size_t)size, data) != (ssize_t)size) {
			free(buf);
			return -EIO;
		}
		buf[size] = '\0';
		free(keep->data[i]);
		keep->data[i] = buf;
		keep->len[i] = (size_t)size;
	}
	return 0;
}

int bf_vm_tar_to_cpio(int tar_fd, struct bf_cpio *c, bool (*skip)(const char *top_name),
		      struct bf_tar_keep *keep, struct bf_error *err)
{
	struct files files = { 0 };
	struct bf_tar_header h, next_meta;
	bool have_meta = false;
	char *long_name = NULL, *long_link = NULL;
	int r = 0;

	if (lseek(tar_fd, 0, SEEK_SET) < 0)
		return bf_error_set(err, errno, "image: %s", strerror(errno));
	memset(&next_meta, 0, sizeof(next_meta));
	for (;;) {
		unsigned char block[BF_TAR_BLOCK];
		char name[BF_TAR_NAME_MAX];
		off_t data;

		r = read_full(tar_fd, block, sizeof(block));
		if (r < 0) {
			r = bf_error_set(err, -r, "image: the archive is cut short");
			break;
		}
		r = bf_tar_header_parse(block, &h);
		if (r == 1) {
			r = 0;
			break;
		}
		if (r < 0) {
			r = bf_error_set(err, EINVAL, "image: a tar header is not valid");
			break;
		}
		if (h.type == 'x' || h.type == 'L' || h.type == 'K') {
			char *meta = NULL;

			r = read_meta(tar_fd, h.size, &meta, err);
			if (r < 0)
				break;
			if (h.type == 'x') {
				/* Applied to the next member's header below. */
				memset(&next_meta, 0, sizeof(next_meta));
				next_meta.size = (unsigned long long)-1;
				next_meta.uid = next_meta.gid = (unsigned)-1;
				if (bf_tar_pax_apply(meta, h.size, &next_meta) < 0)
					r = bf_error_set(err, EINVAL, "image: a pax header is not valid");
				have_meta = true;
				free(meta);
			} else if (h.type == 'L') {
				free(long_name);
				long_name = meta;
			} else {
				free(long_link);
				long_link = meta;
			}
			if (r < 0)
				break;
			continue;
		}
		if (h.type == 'g') {    /* global pax records: nothing we use */
			if (lseek(tar_fd, (off_t)(h.size + bf_tar_padding(h.size)), SEEK_CUR) < 0) {
				r = bf_error_set(err, errno, "image: %s", strerror(errno));
				break;
			}
			continue;
		}
		if (have_meta) {
			if (next_meta.name[0])
				memcpy(h.name, next_meta.name, sizeof(h.name));
			if (next_meta.link[0])
				memcpy(h.link, next_meta.link, sizeof(h.link));
			if (next_meta.size != (unsigned long long)-1)
				h.size = next_meta.size;
			if (next_meta.uid != (unsigned)-1)
				h.uid = next_meta.uid;
			if (next_meta.gid != (unsigned)-1)
				h.gid = next_meta.gid;
			have_meta = false;
		}
		if (long_name) {
			strlcpy(h.name, long_name, sizeof(h.name));
			free(long_name);
			long_name = NULL;
		}
		if (long_link) {
			strlcpy(h.link, long_link, sizeof(h.link));
			free(long_link);
			long_link = NULL;
		}
		data = lseek(tar_fd, 0, SEEK_CUR);
		if (data < 0) {
			r = bf_error_set(err, errno, "image: %s", strerror(errno));
			break;
		}
		if (bf_tar_clean_name(h.name, name, sizeof(name)) < 0) {
			/* The root's own entry ("./") is no member of it. */
			if (strcmp(h.name, "./") && strcmp(h.name, ".") && strcmp(h.name, "/")) {
				r = bf_error_set(err, EINVAL, "image: member \"%.200s\" is not a relative path inside the image", h.name);
				break;
			}
		} else if (!skipped(name, skip)) {
			switch (h.type) {
			case '5':
				r = bf_cpio_dir(c, name, h.mode, h.uid, h.gid, err);
				break;
			case '0':
			case '7':
				r = remember(&files, name, data, h.size);
				if (r < 0)
					r = bf_error_set(err, ENOMEM, "out of memory");
				else
					r = bf_cpio_file(c, name, h.mode, h.uid, h.gid, tar_fd, (off_t)h.size, err);
				if (r == 0 && keep_member(tar_fd, data, h.size, name, keep) < 0)
					r = bf_error_set(err, EIO, "image: %s could not be read back", name);
				break;
			case '2':
				r = bf_cpio_symlink(c, name, h.link, h.uid, h.gid, err);
				break;
			case '1': {
				char target[BF_TAR_NAME_MAX];
				const struct stored *s = NULL;

				if (bf_tar_clean_name(h.link, target, sizeof(target)) == 0)
					s = find(&files, target);
				if (!s) {
					r = bf_error_set(err, EINVAL, "image: hard link %.200s to a member not seen before", name);
					break;
				}
				if (lseek(tar_fd, s->data, SEEK_SET) < 0) {
					r = bf_error_set(err, errno, "image: %s", strerror(errno));
					break;
				}
				r = bf_cpio_file(c, name, h.mode, h.uid, h.gid, tar_fd, (off_t)s->size, err);
				break;
			}
			default:        /* devices, fifos: the guest's /dev is its own */
				break;
			}
			if (r < 0)
				break;
		}
		/* On to the next header, past this member's data and padding
		 * (whatever was read of it, or a hard link's seek elsewhere). */
		if (h.size > (unsigned long long)INT64_MAX - BF_TAR_BLOCK - (unsigned long long)data ||
		    lseek(tar_fd, data + (off_t)h.size + (off_t)bf_tar_padding(h.size), SEEK_SET) < 0) {
			r = bf_error_set(err, EINVAL, "image: a member's size runs past any archive");
			break;
		}
	}
	free(long_name);
	free(long_link);
	files_free(&files);
	return r;
}
