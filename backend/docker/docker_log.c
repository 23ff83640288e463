/* bottlefs-docker-log: copies a container's output into the bottle's log
 * (log_pump.h: stamped "guest:" lines, control bytes defused, rotation),
 * from the engine's log stream, until the container ends. A process of
 * its own, in a session of its own, like oci's shim: unmounting or a
 * crash of the daemon does not stop the log. */
#include "docker_log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "../log_pump.h"
#include "docker_api.h"

/* A non-terminal container's stream is framed: 8 bytes (stream, three
 * zero bytes, a big-endian length) before each piece of output. */
struct demux {
	struct bf_log_pump pump;
	unsigned char head[8];
	size_t head_len;
	uint32_t left;          /* bytes of payload still to come */
};

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct demux *d = ctx;
	size_t len = size * n, i = 0;

	while (i < len) {
		if (d->left == 0) {
			d->head[d->head_len++] = (unsigned char)data[i++];
			if (d->head_len == 8) {
				d->left = (uint32_t)d->head[4] << 24 | (uint32_t)d->head[5] << 16 |
					  (uint32_t)d->head[6] << 8 | d->head[7];
				d->head_len = 0;
			}
			continue;
		}
		{
			size_t take = len - i < d->left ? len - i : d->left;

			bf_log_pump_feed(&d->pump, data + i, take);
			d->left -= (uint32_t)take;
			i += take;
		}
	}
	return len;
}

int bf_docker_log_main(int argc, char **argv)
{
	struct demux d = { 0 };
	char url[512];
	long max;
	CURL *c;

	if (argc != 6) {
		fprintf(stderr, "usage: %s SOCKET CONTAINER_ID LOG LOG_MAX SINCE\n", argv[0]);
		return 2;
	}
	/* Its own session: a terminal's hangup or the daemon's process
	 * group ending does not end the log. */
	setsid();
	max = atol(argv[4]);
	if (bf_log_pump_open(&d.pump, argv[3], max > 0 ? max : BF_LOG_MAX) < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_NOTHING);
	c = curl_easy_init();
	if (!c)
		return 1;
	/* SINCE 0: all of it (a start); a time: only what comes from then
	 * on, the rest being logged already (a re-attach). */
	snprintf(url, sizeof(url),
		 "http://localhost/v1.41/containers/%s/logs?follow=1&stdout=1&stderr=1&since=%ld",
		 argv[2], atol(argv[5]));
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, argv[1]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	bf_log_pump_flush(&d.pump);
	bf_log_pump_close(&d.pump);
	return 0;
}
