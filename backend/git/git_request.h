/* The first packet a git:// client sends (git's pack protocol, "git
 * transport"): one pkt-line naming the service and the repository, then
 * the host and, for protocol v2, extra parameters:
 *
 *   0033git-upload-pack /repo.git\0host=127.0.0.1:9418\0\0version=2\0
 *
 * Pure: no I/O. */
#ifndef BOTTLEFS_GIT_REQUEST_H
#define BOTTLEFS_GIT_REQUEST_H

#include <stddef.h>

#include "../error.h"

#define BF_GIT_PKT_MAX 65520    /* git's LARGE_PACKET_MAX */

enum bf_git_service {
	BF_GIT_UPLOAD_PACK,     /* clone, fetch, ls-remote */
	BF_GIT_RECEIVE_PACK,    /* push */
};

struct bf_git_request {
	enum bf_git_service service;
	char path[256];         /* as the client sent it, e.g. "/repo.git" */
	int version;            /* protocol version asked for: 0, 1 or 2 */
};

/* The length a pkt-line announces in its first 4 bytes (the 4 included):
 * 4..BF_GIT_PKT_MAX, or -EINVAL (a flush packet "0000" is not a request). */
int bf_git_pkt_len(const char head[4]);

/* Parses one whole pkt-line (`len` bytes, as bf_git_pkt_len said). */
int bf_git_request_parse(const char *pkt, size_t len, struct bf_git_request *out,
			 struct bf_error *err);

/* Formats the "ERR message" packet a git client prints as
 * "fatal: remote error: message". Returns its length (at most `cap`,
 * the message cut to fit). */
size_t bf_git_pkt_error(char *out, size_t cap, const char *msg);

#endif
