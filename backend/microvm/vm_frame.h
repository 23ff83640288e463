/* The wire between a microVM's agent (guest PID 1) and the host: frames
 * on one virtio-serial port, multiplexed by channel. Pure: no I/O.
 *
 * A frame is a 12-byte head, little-endian: payload length (u32), channel
 * (u32), type (u8), three zero bytes; then the payload. Channel 0 is the
 * agent itself, 1 the bottle's main command, 2.. exec sessions. */
#ifndef BOTTLEFS_VM_FRAME_H
#define BOTTLEFS_VM_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../buf.h"

#define BF_VM_FRAME_HEAD 12
#define BF_VM_FRAME_MAX (128 * 1024)    /* payload */
/* Output a channel may have in flight before the host acknowledges it. */
#define BF_VM_WINDOW (512 * 1024)
#define BF_VM_CHAN_AGENT 0
#define BF_VM_CHAN_MAIN 1
#define BF_VM_EXEC_ARGS_MAX 256
#define BF_VM_EXEC_ENV_MAX 512

enum bf_vm_type {
	BF_VM_HELLO = 1,        /* agent: ready (payload: its version); host: are you? */
	BF_VM_EXEC,             /* host: run a command (bf_vm_exec fields) */
	BF_VM_STARTED,          /* agent: it runs (u32 pid in the guest) */
	BF_VM_STDIN,            /* host: input; empty: end of input */
	BF_VM_STDOUT,           /* agent: output */
	BF_VM_STDERR,
	BF_VM_ACK,              /* host: u32 bytes of output delivered */
	BF_VM_SIGNAL,           /* host: u32 signal for the command's group */
	BF_VM_EXIT,             /* agent: u32 wait status, after all output */
	BF_VM_FAILED,           /* agent: could not run it (text) */
	BF_VM_CLOSE,            /* host: nobody reads it: end its group */
	BF_VM_RESIZE,           /* host: u32 (cols << 16 | rows) of its terminal */
	BF_VM_TYPE_END
};

struct bf_vm_frame {
	uint32_t chan;
	uint8_t type;
	uint32_t len;
	const char *data;       /* into the parsed buffer */
};

/* Parses one frame at buf[0..len): bytes it takes (> 0) with *f set, 0 if
 * the frame is not complete yet, -EPROTO if these bytes are no frame (an
 * unknown type, a payload over BF_VM_FRAME_MAX, nonzero padding). */
ssize_t bf_vm_frame_parse(const char *buf, size_t len, struct bf_vm_frame *f);
/* The head of a frame of `len` payload bytes. */
void bf_vm_frame_head(char out[BF_VM_FRAME_HEAD], uint32_t chan, uint8_t type, uint32_t len);
/* A whole frame appended to `out`. */
void bf_vm_frame_append(struct bf_buf *out, uint32_t chan, uint8_t type, const void *data,
			uint32_t len);
/* A u32 payload (pid, status, signal, ack), or -1 if it is not 4 bytes. */
long long bf_vm_frame_u32(const struct bf_vm_frame *f);

/* An EXEC payload: "key=value" fields, each ended by a NUL. Keys: uid,
 * gid (decimal), cwd, arg (repeated: argv in order), env (repeated:
 * KEY=value), pty (COLSxROWS: a terminal of that size for stdin, stdout
 * and stderr). The pointers point into the payload. */
struct bf_vm_exec {
	unsigned uid, gid;
	unsigned cols, rows;    /* pty: both nonzero */
	const char *cwd;
	const char *argv[BF_VM_EXEC_ARGS_MAX + 1];      /* NULL-terminated */
	size_t argc;
	const char *env[BF_VM_EXEC_ENV_MAX + 1];
	size_t envc;
};

/* 0, or -EINVAL with *why set: a field without '=' or NUL, an unknown
 * key, a bad id, no arg, too many args or env entries, a NUL-less end. */
int bf_vm_exec_parse(const char *data, size_t len, struct bf_vm_exec *out, const char **why);
void bf_vm_exec_field(struct bf_buf *out, const char *key, const char *value);

#endif
