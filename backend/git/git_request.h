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

/* Finds where the first flush packet ("0000") of a stream of pkt-lines
 * ends, the stream fed in pieces of any size (receive-pack's ref
 * advertisement ends there). Zero-initialised before the first piece. */
struct bf_git_flush_scan {
	size_t pkt_left;        /* bytes of the current packet still to come */
	char head[4];
	size_t head_len;        /* bytes of the next length header seen */
	int done;               /* the flush, or bytes that are not pkt-lines, seen */
};

/* How many of p[0..len) belong to the stream up to and including its
 * first flush packet: len while it has not been seen, 0 once it has. A
 * header that is not 4 hex digits also ends the scan there (what follows
 * cannot be read as pkt-lines). */
size_t bf_git_flush_scan(struct bf_git_flush_scan *s, const char *p, size_t len);

/* Parses one whole pkt-line (`len` bytes, as bf_git_pkt_len said). */
int bf_git_request_parse(const char *pkt, size_t len, struct bf_git_request *out,
			 struct bf_error *err);

/* Formats the "ERR message" packet a git client prints as
 * "fatal: remote error: message". Returns its length (at most `cap`,
 * the message cut to fit). */
size_t bf_git_pkt_error(char *out, size_t cap, const char *msg);

#endif
