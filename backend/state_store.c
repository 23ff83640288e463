#include "state_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <bsd/string.h>

#include "buf.h"
#include "cleanup.h"
#include "idmap.h"
#include "json_get.h"

#define STATE_VERSION 1
#define RECORD_MAX (BF_MANIFEST_MAX * 8 + 4096)

static void json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}

#define cleanup_json __attribute__((cleanup(json_putp)))

static int mkdir_p700(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int bf_store_open(const char *dir, struct bf_store *s, struct bf_error *err)
{
	char path[4096];
	int r;

	s->dirfd = s->allow_dirfd = -1;
	r = mkdir_p700(dir);
	if (r < 0)
		return bf_error_set(err, -r, "cannot create state dir %s: %s", dir, strerror(-r));
	if ((size_t)snprintf(path, sizeof(path), "%s/bottles", dir) >= sizeof(path))
		return bf_error_set(err, ENAMETOOLONG, "state dir path too long");
	r = mkdir_p700(path);
	if (r < 0)
		return bf_error_set(err, -r, "cannot create %s: %s", path, strerror(-r));
	s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return bf_error_set(err, errno, "cannot open %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/allow", dir);
	r = mkdir_p700(path);
	if (r < 0)
		return bf_error_set(err, -r, "cannot create %s: %s", path, strerror(-r));
	s->allow_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->allow_dirfd < 0)
		return bf_error_set(err, errno, "cannot open %s: %s", path, strerror(errno));
	return 0;
}

void bf_store_close(struct bf_store *s)
{
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->allow_dirfd >= 0)
		close(s->allow_dirfd);
	s->dirfd = s->allow_dirfd = -1;
}

static json_object *run_to_json(const struct bf_backend *backend, const struct bf_run *run)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (json_object_object_add(o, "launched", json_object_new_boolean(run->launched)) ||
	    json_object_object_add(o, "pid", json_object_new_int64(run->pid)) ||
	    json_object_object_add(o, "guest_uid", json_object_new_int64(run->guest_uid)) ||
	    json_object_object_add(o, "guest_gid", json_object_new_int64(run->guest_gid)) ||
	    json_object_object_add(o, "id_offset", json_object_new_uint64(run->id_offset)) ||
	    json_object_object_add(o, "gid_offset", json_object_new_uint64(run->gid_offset)) ||
	    json_object_object_add(o, "id_count", json_object_new_uint64(run->id_count)) ||
	    json_object_object_add(o, "started_at", json_object_new_int64(run->started_at)) ||
	    json_object_object_add(o, "stopped_at", json_object_new_int64(run->stopped_at)) ||
	    json_object_object_add(o, "exit_code", json_object_new_int(run->exit_code)) ||
	    json_object_object_add(o, "exit_signal", json_object_new_int(run->exit_signal)) ||
	    json_object_object_add(o, "reason", json_object_new_string(run->reason)) ||
	    json_object_object_add(o, "guest_start", json_object_new_uint64(run->guest_start)) ||
	    json_object_object_add(o, "guest_userns", json_object_new_uint64(run->guest_userns)) ||
	    json_object_object_add(o, "workspace_idmapped", json_object_new_boolean(run->workspace_idmapped)) ||
	    json_object_object_add(o, "workspace_uid", json_object_new_uint64(run->workspace_uid)) ||
	    json_object_object_add(o, "workspace_gid", json_object_new_uint64(run->workspace_gid)) ||
	    (backend && backend->run_save && backend->run_save(run, o) < 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *record_to_json(const char *name, const char *text, size_t len,
				   const struct bf_meta *meta)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (json_object_object_add(o, "version", json_object_new_int(STATE_VERSION)) ||
	    json_object_object_add(o, "name", json_object_new_string(name)) ||
	    json_object_object_add(o, "identity", json_object_new_string(meta->identity)) ||
	    json_object_object_add(o, "backend", json_object_new_string(meta->backend)) ||
	    json_object_object_add(o, "subnet_octet", json_object_new_int((int)meta->octet)) ||
	    json_object_object_add(o, "state", json_object_new_string(bf_state_name(meta->state))) ||
	    json_object_object_add(o, "owner_uid", json_object_new_int64(meta->owner)) ||
	    json_object_object_add(o, "id_base", json_object_new_uint64(meta->id_base)) ||
	    json_object_object_add(o, "created_at", json_object_new_int64(meta->created_at)) ||
	    json_object_object_add(o, "manifest", json_object_new_string_len(text, (int)len)) ||
	    json_object_object_add(o, "run", run_to_json(bf_backend_find(meta->backend), &meta->run))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Temp file in the same directory so the rename is atomic. */
static int write_atomic(int dirfd, const char *file, const char *data, size_t len,
			struct bf_error *err)
{
	char tmp[128];
	cleanup_close int fd = -1;
	int r;

	snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", file, (int)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return bf_error_set(err, errno, "state: cannot create %s: %s", tmp, strerror(errno));
	r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, file) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return bf_error_set(err, -r, "state: cannot write %s: %s", file, strerror(-r));
	}
	if (fsync(dirfd) < 0)
		return bf_error_set(err, errno, "state: cannot sync directory: %s", strerror(errno));
	return 0;
}

char *bf_store_record_text(const char *name, const char *text, size_t len,
			   const struct bf_meta *meta)
{
	cleanup_json json_object *o = record_to_json(name, text, len, meta);
	const char *json;

	if (!o)
		return NULL;
	json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	return json ? strdup(json) : NULL;
}

int bf_store_write_record(struct bf_store *s, const char *name, const char *record,
			  struct bf_error *err)
{
	char file[BF_NAME_MAX + 8];

	snprintf(file, sizeof(file), "%s.json", name);
	return write_atomic(s->dirfd, file, record, strlen(record), err);
}

int bf_store_save(struct bf_store *s, const char *name, const char *text, size_t len,
		  const struct bf_meta *meta, struct bf_error *err)
{
	cleanup_free char *record = bf_store_record_text(name, text, len, meta);

	if (!record)
		return bf_error_set(err, ENOMEM, "out of memory");
	return bf_store_write_record(s, name, record, err);
}

int bf_store_remove(struct bf_store *s, const char *name, struct bf_error *err)
{
	char file[BF_NAME_MAX + 8];

	snprintf(file, sizeof(file), "%s.json", name);
	if (unlinkat(s->dirfd, file, 0) < 0 && errno != ENOENT)
		return bf_error_set(err, errno, "state: cannot remove %s: %s", file, strerror(errno));
	if (fsync(s->dirfd) < 0)
		return bf_error_set(err, errno, "state: cannot sync directory: %s", strerror(errno));
	return 0;
}

int bf_store_save_allow(struct bf_store *s, const char *name, char *const *rules, size_t n,
			struct bf_error *err)
{
	struct bf_buf text = { 0 };
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		bf_buf_puts(&text, rules[i]);
		bf_buf_putc(&text, '\n');
	}
	if (bf_buf_finish(&text) < 0)
		return bf_error_set(err, ENOMEM, "out of memory");
	r = write_atomic(s->allow_dirfd, name, text.data, text.len, err);
	bf_buf_free(&text);
	return r;
}

int bf_store_remove_allow(struct bf_store *s, const char *name)
{
	if (unlinkat(s->allow_dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int read_file_at(int dirfd, const char *file, char **out, size_t *out_len);

int bf_store_load_allow(struct bf_store *s, const char *name, char **text, size_t *len)
{
	return read_file_at(s->allow_dirfd, name, text, len);
}

static int read_file_at(int dirfd, const char *file, char **out, size_t *out_len)
{
	cleanup_close int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	cleanup_free char *data = NULL;
	size_t len = 0;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > RECORD_MAX)
		return -EFBIG;
	data = malloc((size_t)st.st_size + 1);
	if (!data)
		return -ENOMEM;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';
	*out = data;
	*out_len = len;
	data = NULL;
	return 0;
}




/* The run section; absent in records of bottles never started. The
 * backend reads its own part. */
static const char *json_to_run(json_object *record, const struct bf_backend *backend,
			       unsigned long long id_base, struct bf_run *run)
{
	json_object *o, *flag;
	const char *s;
	int64_t v[8];
	size_t i;
	static const char *const ints[] = {
		"pid", "started_at", "stopped_at", "exit_code", "exit_signal",
		"guest_uid", "guest_gid",
	};

	memset(run, 0, sizeof(*run));
	if (!json_object_object_get_ex(record, "run", &o))
		return NULL;
	if (!json_object_is_type(o, json_type_object))
		return "run is not an object";
	/* The guest user came later: records without it read as root. */
	v[5] = v[6] = 0;
	for (i = 0; i < 7; i++)
		if (!bf_json_int64(o, ints[i], &v[i]) && i < 5)
			return "run: bad or missing number";
	if (v[5] < 0 || v[5] > UINT32_MAX || v[6] < 0 || v[6] > UINT32_MAX)
		return "run: guest uid or gid out of range";
	run->guest_uid = (uid_t)v[5];
	run->guest_gid = (gid_t)v[6];
	if (v[0] < 0 || v[0] > INT32_MAX || v[3] < INT32_MIN || v[3] > INT32_MAX || v[4] < 0 ||
	    v[4] > 64)
		return "run: number out of range";
	run->pid = (pid_t)v[0];
	run->started_at = (time_t)v[1];
	run->stopped_at = (time_t)v[2];
	run->exit_code = (int)v[3];
	run->exit_signal = (int)v[4];
	if (!(s = bf_json_str(o, "reason")))
		return "run: bad or missing text";
	strlcpy(run->reason, s, sizeof(run->reason));
	/* Records from before "launched" had a container id when launched. */
	if (json_object_object_get_ex(o, "launched", &flag))
		run->launched = json_object_get_boolean(flag);
	else
		run->launched = (s = bf_json_str(o, "container_id")) && *s;
	/* Runs recorded before id_offset were all in the bottle's own user
	 * namespace. */
	run->id_offset = json_object_object_get_ex(o, "id_offset", &flag) ? bf_json_uint64(o, "id_offset")
									   : id_base;
	/* ... and the same for group ids, in a map of the bottle's size. */
	run->gid_offset = json_object_object_get_ex(o, "gid_offset", &flag) ? bf_json_uint64(o, "gid_offset")
									     : run->id_offset;
	run->id_count = json_object_object_get_ex(o, "id_count", &flag)
				? (unsigned)bf_json_uint64(o, "id_count")
				: (run->id_offset ? BF_IDS_PER_BOTTLE : 0);
	/* Absent in older records: zero, which re-attach never trusts. */
	run->guest_start = bf_json_uint64(o, "guest_start");
	run->guest_userns = bf_json_uint64(o, "guest_userns");
	run->workspace_uid = (uid_t)bf_json_uint64(o, "workspace_uid");
	run->workspace_gid = (gid_t)bf_json_uint64(o, "workspace_gid");
	run->workspace_idmapped = json_object_object_get_ex(o, "workspace_idmapped", &flag) &&
				  json_object_get_boolean(flag);
	if (backend && backend->run_load)
		return backend->run_load(o, run);
	return NULL;
}

/* Turns a parsed record into metadata; returns a reason on failure. */
static const char *json_to_meta(json_object *o, const char *name, struct bf_meta *meta,
				const char **text, size_t *len)
{
	json_object *manifest;
	const char *s;
	int64_t version, octet, owner, created;

	memset(meta, 0, sizeof(*meta));
	if (!json_object_is_type(o, json_type_object))
		return "not a JSON object";
	if (!bf_json_int64(o, "version", &version) || version != STATE_VERSION)
		return "unsupported or missing version";
	s = bf_json_str(o, "name");
	if (!s || strcmp(s, name) != 0)
		return "name does not match the file name";
	s = bf_json_str(o, "identity");
	if (!s || strlcpy(meta->identity, s, sizeof(meta->identity)) >= sizeof(meta->identity))
		return "missing or bad identity";
	s = bf_json_str(o, "backend");
	if (!s || !bf_backend_find(s))
		return "missing or unknown backend";
	strlcpy(meta->backend, s, sizeof(meta->backend));
	s = bf_json_str(o, "state");
	if (!s || bf_state_parse(s, &meta->state) < 0)
		return "missing or unknown state";
	if (!bf_json_int64(o, "subnet_octet", &octet) || octet < 1 || octet > 254 || octet == BF_SUBNET_SKIP)
		return "missing or bad subnet_octet";
	meta->octet = (unsigned)octet;
	if (!bf_json_int64(o, "owner_uid", &owner) || owner < 0 || owner > UINT32_MAX)
		return "missing or bad owner_uid";
	meta->owner = (uid_t)owner;
	/* Absent in older records: the registry gives one on load. */
	meta->id_base = bf_json_uint64(o, "id_base");
	if (meta->id_base > UINT32_MAX - 65535ULL)
		return "bad id_base";
	if (!bf_json_int64(o, "created_at", &created))
		return "missing created_at";
	meta->created_at = (time_t)created;
	if (!json_object_object_get_ex(o, "manifest", &manifest) ||
	    !json_object_is_type(manifest, json_type_string))
		return "missing manifest";
	*text = json_object_get_string(manifest);
	*len = (size_t)json_object_get_string_len(manifest);
	return json_to_run(o, bf_backend_find(meta->backend), meta->id_base, &meta->run);
}

static int load_one(int dirfd, const char *file, bf_store_record_fn record,
		    bf_store_problem_fn problem, void *ctx)
{
	cleanup_free char *data = NULL;
	cleanup_json json_object *o = NULL;
	struct json_tokener *tok;
	char name[BF_NAME_MAX + 1];
	const char *reason, *text = NULL;
	size_t n = strlen(file), len = 0, data_len = 0;
	struct bf_meta meta;
	int r;

	if (n < 6 || n - 5 > BF_NAME_MAX) {
		problem(ctx, file, "not a bottle record (bad file name)");
		return 0;
	}
	memcpy(name, file, n - 5);
	name[n - 5] = '\0';
	if (!bf_name_valid(name)) {
		problem(ctx, file, "not a valid bottle name");
		return 0;
	}
	r = read_file_at(dirfd, file, &data, &data_len);
	if (r < 0) {
		problem(ctx, file, strerror(-r));
		return 0;
	}
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, data, (int)data_len + 1);
	r = json_tokener_get_error(tok) == json_tokener_success && o;
	json_tokener_free(tok);
	if (!r) {
		problem(ctx, file, "corrupt or truncated JSON");
		return 0;
	}
	reason = json_to_meta(o, name, &meta, &text, &len);
	if (reason) {
		problem(ctx, file, reason);
		return 0;
	}
	return record(ctx, name, text, len, &meta);
}

int bf_store_load(struct bf_store *s, bf_store_record_fn record,
		  bf_store_problem_fn problem, void *ctx, struct bf_error *err)
{
	cleanup_closedir DIR *d = NULL;
	struct dirent *de;
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return bf_error_set(err, errno, "state: %s", strerror(errno));
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return bf_error_set(err, errno, "state: %s", strerror(errno));
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		int r;

		if (de->d_name[0] == '.')
			continue;   /* ., .., and leftover temp files */
		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0) {
			problem(ctx, de->d_name, "not a bottle record");
			continue;
		}
		r = load_one(s->dirfd, de->d_name, record, problem, ctx);
		if (r)
			return bf_error_set(err, r < 0 ? -r : EIO, "state: loading %s failed", de->d_name);
	}
	return 0;
}
