#include "docker_api.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <bsd/string.h>

#include "../json_get.h"
#include "docker_labels.h"

/* API 1.41 is Debian 12's docker.io (20.10); later engines serve it too. */
#define API_PREFIX "http://localhost/v1.41"
/* The engine answers in milliseconds; a create may pull nothing here (no
 * registry), but a start mounts the image. */
#define CALL_TIMEOUT_S 60
#define STREAM_TIMEOUT_S 1800   /* an image's export */
#define CONNECT_TIMEOUT_MS 2000
#define RESPONSE_MAX (4 << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_setup(void)
{
	curl_global_init(CURL_GLOBAL_NOTHING);
}

const char *bf_docker_socket(void)
{
	const char *host = getenv("DOCKER_HOST");

	if (host && strncmp(host, "unix://", 7) == 0)
		return host + 7;
	return "/var/run/docker.sock";
}

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
	struct bf_buf *b = ctx;

	if (b->len + size * n > RESPONSE_MAX)
		return 0;       /* a runaway answer ends the transfer */
	bf_buf_append(b, data, size * n);
	return b->failed ? 0 : size * n;
}

static int errno_of_status(long status)
{
	switch (status) {
	case 400: return EINVAL;
	case 404: return ENOENT;
	case 409: return EEXIST;
	case 304: return EALREADY;
	default: return EIO;
	}
}

int bf_docker_call(const char *method, const char *path, const char *body,
		   struct json_object **out, struct bf_error *err)
{
	struct bf_buf response = { 0 };
	int r = bf_docker_call_raw(method, path, body, &response, err);

	if (out)
		*out = NULL;
	if (r == 0 && out && response.data && response.len > 0) {
		bf_buf_putc(&response, '\0');
		*out = json_tokener_parse(response.data);
		if (!*out)
			r = bf_error_set(err, EIO, "docker engine: %s %s: unreadable answer", method, path);
	}
	bf_buf_free(&response);
	return r;
}

/* Where an answer goes: 2xx bodies to `fd` when it is >= 0, else (and
 * every error's body, for its message) into `body`. */
struct sink {
	CURL *c;
	int fd;
	struct bf_buf body;
	bool write_failed;
};

static size_t to_sink(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	long status = 0;
	size_t left = size * n;

	curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &status);
	if (s->fd < 0 || status < 200 || status > 299)
		return collect(data, size, n, &s->body);
	while (left) {
		ssize_t w = write(s->fd, data, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			s->write_failed = true;
			return 0;
		}
		data += w;
		left -= (size_t)w;
	}
	return size * n;
}

static int call(const char *method, const char *path, const char *body, int fd, long timeout_s,
		struct bf_buf *out, struct bf_error *err)
{
	struct curl_slist *headers = NULL;
	struct sink sink = { NULL, fd, { 0 }, false };
	char url[2048], curl_err[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	int r;

	pthread_once(&curl_once, curl_setup);
	sink.c = curl_easy_init();
	if (!sink.c)
		return bf_error_set(err, ENOMEM, "cannot make an HTTP request");
	snprintf(url, sizeof(url), "%s%s", API_PREFIX, path);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(sink.c, CURLOPT_UNIX_SOCKET_PATH, bf_docker_socket());
	curl_easy_setopt(sink.c, CURLOPT_URL, url);
	curl_easy_setopt(sink.c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(sink.c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(sink.c, CURLOPT_POSTFIELDS, body ? body : "");
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(sink.c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(sink.c, CURLOPT_WRITEFUNCTION, to_sink);
	curl_easy_setopt(sink.c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(sink.c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(sink.c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(sink.c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(sink.c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(sink.c);
	if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
		curl_easy_getinfo(sink.c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(sink.c);
	curl_slist_free_all(headers);
	if (sink.write_failed) {
		r = bf_error_set(err, EIO, "docker engine: %s %s: the answer could not be stored", method, path);
		goto done;
	}
	if (rc != CURLE_OK) {
		r = bf_error_set(err, rc == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO,
				 "docker engine at %s: %s", bf_docker_socket(),
				 curl_err[0] ? curl_err : curl_easy_strerror(rc));
		goto done;
	}
	if (sink.body.failed) {
		r = bf_error_set(err, ENOMEM, "docker engine: answer too large");
		goto done;
	}
	if (status < 200 || status > 299) {
		bf_buf_putc(&sink.body, '\0');
		/* The engine says why in {"message": "..."}. */
		json_object *o = json_tokener_parse(sink.body.data ? sink.body.data : "");
		json_object *msg;
		const char *text = sink.body.data ? sink.body.data : "";

		if (o && json_object_object_get_ex(o, "message", &msg))
			text = json_object_get_string(msg);
		r = bf_error_set(err, errno_of_status(status), "docker engine: %s %s: %.300s (HTTP %ld)",
				 method, path, text, status);
		json_object_put(o);
		goto done;
	}
	if (out)
		*out = sink.body;
	else
		bf_buf_free(&sink.body);
	return 0;
done:
	bf_buf_free(&sink.body);
	return r;
}

int bf_docker_call_raw(const char *method, const char *path, const char *body,
		       struct bf_buf *out, struct bf_error *err)
{
	return call(method, path, body, -1, CALL_TIMEOUT_S, out, err);
}

int bf_docker_call_to_fd(const char *method, const char *path, int fd, struct bf_error *err)
{
	return call(method, path, NULL, fd, STREAM_TIMEOUT_S, NULL, err);
}

int bf_docker_version(char *out, size_t len, struct bf_error *err)
{
	json_object *o = NULL;
	int r = bf_docker_call("GET", "/version", NULL, &o, err);
	const char *version, *api;

	if (r < 0)
		return r;
	version = bf_json_str(o, "Version");
	api = bf_json_str(o, "ApiVersion");
	snprintf(out, len, "%s (API %s)", version ? version : "?", api ? api : "?");
	json_object_put(o);
	return 0;
}

int bf_docker_inspect(const char *id, struct bf_docker_state *out, struct bf_error *err)
{
	json_object *o = NULL, *state, *config, *labels, *v;
	char path[256], enc[160];
	const char *s;
	int r;

	memset(out, 0, sizeof(*out));
	bf_docker_urlencode(id, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/containers/%s/json", enc);
	r = bf_docker_call("GET", path, NULL, &o, err);
	if (r < 0)
		return r;
	if (!o || !json_object_object_get_ex(o, "State", &state)) {
		json_object_put(o);
		return bf_error_set(err, EIO, "docker engine: inspect %s: no State", id);
	}
	if ((s = bf_json_str(o, "Id")))
		strlcpy(out->id, s, sizeof(out->id));
	if (json_object_object_get_ex(state, "Running", &v))
		out->running = json_object_get_boolean(v);
	if (json_object_object_get_ex(state, "Pid", &v))
		out->pid = (pid_t)json_object_get_int(v);
	if (json_object_object_get_ex(state, "ExitCode", &v))
		out->exit_code = json_object_get_int(v);
	if (json_object_object_get_ex(state, "OOMKilled", &v))
		out->oom_killed = json_object_get_boolean(v);
	if ((s = bf_json_str(state, "StartedAt")))
		strlcpy(out->started_at, s, sizeof(out->started_at));
	if (json_object_object_get_ex(o, "Config", &config) &&
	    json_object_object_get_ex(config, "Labels", &labels)) {
		if ((s = bf_json_str(labels, BF_DOCKER_LABEL_STATE)))
			strlcpy(out->labels_state_dir, s, sizeof(out->labels_state_dir));
		if ((s = bf_json_str(labels, BF_DOCKER_LABEL_IDENTITY)))
			strlcpy(out->labels_identity, s, sizeof(out->labels_identity));
	}
	json_object_put(o);
	return 0;
}

void bf_docker_urlencode(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in && o + 4 < len; in++) {
		unsigned char c = (unsigned char)*in;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-_.~", c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}
